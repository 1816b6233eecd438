"""System checks: the access settings are valid (access.E001), and every permission a role names exists
(access.E002: a renamed model or right would otherwise silently leave a role without it).
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.core.checks import CheckMessage, Error, register

from access.conf import access_settings
from access.roles import EXPLICIT


@register()
def access_settings_valid(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    return access_settings.check(check_id="access.E001")


@register()
def role_permissions_exist(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    declared = {
        f"{model._meta.app_label}.{codename}"
        for model in apps.get_models()
        for codename in (
            *(f"{action}_{model._meta.model_name}" for action in model._meta.default_permissions),
            *(name for name, _ in model._meta.permissions),
        )
    }
    return [
        Error(f"a role names the permission {name}, which no model declares", id="access.E002")
        for name in sorted(EXPLICIT - declared)
    ]
