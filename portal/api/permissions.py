"""API permissions: Django model permissions, including ``view`` for reads, and per-action ones.

Superusers pass everything. Roles (a later issue) map to Django groups carrying these permissions,
so every endpoint is already guarded by the permission its model or action defines.
"""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import DjangoModelPermissions
from rest_framework.request import Request

__all__ = ["ModelPermissions"]


class ModelPermissions(DjangoModelPermissions):
    """``view_*`` for reads, ``add/change/delete_*`` for writes, and ``view.action_permissions[action]``
    (e.g. ``{"revoke": "ca.revoke_issuedcertificate"}``) for custom actions.
    """

    perms_map = {
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "OPTIONS": [],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
        "POST": ["%(app_label)s.add_%(model_name)s"],
        "PUT": ["%(app_label)s.change_%(model_name)s"],
        "PATCH": ["%(app_label)s.change_%(model_name)s"],
        "DELETE": ["%(app_label)s.delete_%(model_name)s"],
    }

    def has_permission(self, request: Request, view: Any) -> bool:
        action_permissions: dict[str, str] = getattr(view, "action_permissions", {})
        action = getattr(view, "action", None)
        if action in action_permissions:
            user = request.user
            return bool(user and user.is_authenticated and user.has_perm(action_permissions[action]))
        return super().has_permission(request, view)
