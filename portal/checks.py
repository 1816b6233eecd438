"""System checks: the project's own settings are valid (portal.E001)."""

from __future__ import annotations

from typing import Any

from django.core.checks import CheckMessage, register

from portal.conf import portal_settings


@register()
def portal_settings_valid(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    return portal_settings.check(check_id="portal.E001")
