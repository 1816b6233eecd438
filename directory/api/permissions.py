from __future__ import annotations

from typing import Any, ClassVar

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

__all__ = ["DirectoryImportPermission"]


class DirectoryImportPermission(BasePermission):
    """Importing creates users and devices: it takes both ``add`` permissions.

    Importing groups also takes ``add_group``, which the view checks once it knows what the file holds.
    """

    required: ClassVar[tuple[str, ...]] = ("directory.add_directoryuser", "directory.add_device")

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.has_perms(self.required))
