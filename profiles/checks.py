"""System checks: the profiles app's settings are valid (profiles.E001)."""

from __future__ import annotations

from typing import Any

from django.core.checks import CheckMessage, register

from profiles.conf import profiles_settings


@register()
def profiles_settings_valid(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    return profiles_settings.check(check_id="profiles.E001")
