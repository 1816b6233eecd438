"""After ``migrate``, the built-in roles get the permissions of any new model (Django creates permissions
in its own post_migrate handler, the way this one follows it: bootstrap data, not a domain effect).
"""

from __future__ import annotations

from typing import Any

from django.apps import AppConfig, apps
from django.db.models.signals import post_migrate

from access.services.roles import roles_sync


def _sync_roles(sender: AppConfig, using: str = "default", **kwargs: Any) -> None:
    # Once per migrate: on the last app's signal, when every app's permissions exist.
    if sender is not list(apps.get_app_configs())[-1]:
        return
    roles_sync()


post_migrate.connect(_sync_roles, dispatch_uid="access.sync_roles")
