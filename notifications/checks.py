"""System checks: the notification settings are valid (notifications.E001)."""

from __future__ import annotations

from typing import Any

from django.core.checks import CheckMessage, register

from notifications.conf import notifications_settings


@register()
def notifications_settings_valid(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    return notifications_settings.check(check_id="notifications.E001")
