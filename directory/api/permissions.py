"""Who may import into the directory, and see the imports."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

from directory.services.import_jobs import IMPORT_PERMISSIONS

__all__ = ["VIEW_ALL_IMPORTS", "DirectoryImportPermission", "may_import", "permissions_held"]

#: Sees every import job, not only the requester's own.
VIEW_ALL_IMPORTS = "directory.view_importjob"


def permissions_held(request: Request, permissions: Iterable[str]) -> bool:
    """The user holds every one of ``permissions``, and a scoped API token (``request.auth.allows``, see the
    access app) allows each of them: a token never adds rights to its user's.
    """
    wanted = list(permissions)
    user = request.user
    if not (user and user.is_authenticated and user.has_perms(wanted)):
        return False
    allows = getattr(request.auth, "allows", None)
    return allows is None or all(allows(permission) for permission in wanted)


def may_import(request: Request) -> bool:
    """The add and change rights of at least one kind (``IMPORT_PERMISSIONS``)."""
    return any(permissions_held(request, perms) for perms in IMPORT_PERMISSIONS.values())


class DirectoryImportPermission(BasePermission):
    """``POST``: the add and change rights of at least one kind; the import service then checks every kind
    the file holds (``IMPORT_PERMISSIONS``: an import creates and updates, so it takes both). ``GET``:
    ``directory.view_importjob`` (every job), or the rights to import (one's own jobs).
    """

    message = "Importing takes the add and change rights of what the file holds: " + "; ".join(
        f"{kind}: {' and '.join(perms)}" for kind, perms in IMPORT_PERMISSIONS.items()
    )

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False
        if request.method == "POST":
            return may_import(request)
        return request.method in SAFE_METHODS and (
            permissions_held(request, [VIEW_ALL_IMPORTS]) or may_import(request)
        )
