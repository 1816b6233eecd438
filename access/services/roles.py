"""The built-in roles as Django groups (``access.roles``), kept exactly in step with their patterns."""

from __future__ import annotations

import fnmatch
import logging

from django.contrib.auth.models import Group, Permission
from django.db import transaction

from access.roles import ROLES, Role

__all__ = ["role_permissions", "roles_sync"]

logger = logging.getLogger(__name__)


def _matches(name: str, patterns: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns)


def role_permissions(role: Role, permissions: list[Permission]) -> list[Permission]:
    """The permissions among ``permissions`` that ``role`` holds."""
    chosen = []
    for permission in permissions:
        name = f"{permission.content_type.app_label}.{permission.codename}"
        if _matches(name, role.include) and not _matches(name, role.exclude):
            chosen.append(permission)
    return chosen


@transaction.atomic
def roles_sync() -> dict[str, int]:
    """Create the role groups and give each exactly its permissions (a role's group is not for local
    edits: make another group for that). Idempotent; how many permissions each role has.
    """
    permissions = list(Permission.objects.select_related("content_type"))
    counts: dict[str, int] = {}
    for role in ROLES:
        group, created = Group.objects.get_or_create(name=role.name)
        wanted = role_permissions(role, permissions)
        current = set(group.permissions.values_list("pk", flat=True))
        if current != {permission.pk for permission in wanted}:
            group.permissions.set(wanted)
            logger.info(
                "role %s: %s permission(s)%s", role.name, len(wanted), " (created)" if created else ""
            )
        counts[role.name] = len(wanted)
    return counts
