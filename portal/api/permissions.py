"""API permissions: Django model permissions, including ``view`` for reads, and per-action ones.

Superusers pass everything. The built-in roles (``access.roles``) are Django groups carrying these
permissions. An API token with scopes passes only where every permission the request needs is within
its scopes (a token never adds rights to its user's).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rest_framework.permissions import DjangoModelPermissions
from rest_framework.request import Request

__all__ = ["ModelPermissions", "permissions_granted"]


def permissions_granted(request: Request, permissions: Iterable[str]) -> bool:
    """The user has every one of ``permissions`` and, if the request came with a scoped token, the
    token's scopes cover each.
    """
    wanted = list(permissions)
    user = request.user
    if not (user and user.is_authenticated and user.has_perms(wanted)):
        return False
    allows = getattr(request.auth, "allows", None)
    return allows is None or all(allows(permission) for permission in wanted)


class ModelPermissions(DjangoModelPermissions):
    """``view_*`` for reads, ``add/change/delete_*`` for writes, and ``view.action_permissions[action]``
    (a permission or a tuple of them, e.g. ``{"revoke": "ca.revoke_issuedcertificate"}``) for custom
    actions, which then replaces the model permission.
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
        action_permissions: dict[str, str | tuple[str, ...]] = getattr(view, "action_permissions", {})
        action = getattr(view, "action", None)
        if action in action_permissions:
            needed = action_permissions[action]
            return permissions_granted(request, (needed,) if isinstance(needed, str) else needed)
        if not request.user or (not request.user.is_authenticated and self.authenticated_users_only):
            return False
        if getattr(view, "_ignore_model_permissions", False):
            return True
        queryset = self._queryset(view)
        return permissions_granted(
            request, self.get_required_permissions(request.method or "", queryset.model)
        )
