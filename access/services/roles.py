"""The built-in roles as Django groups (``access.roles``), kept exactly in step with their patterns."""

from __future__ import annotations

import fnmatch
import logging

from auditlog.context import disable_auditlog

from django.contrib.auth.models import Group, Permission
from django.db import transaction

from access.roles import ROLES, Role
from audit.models import AuditEntry

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
        wanted_pks = {permission.pk for permission in wanted}
        if current != wanted_pks:
            _permissions_set(
                group,
                wanted,
                removed=[permission for permission in permissions if permission.pk in current - wanted_pks],
                added=[permission for permission in wanted if permission.pk not in current],
            )
            logger.info(
                "role %s: %s permission(s)%s", role.name, len(wanted), " (created)" if created else ""
            )
        counts[role.name] = len(wanted)
    return counts


def _permissions_set(
    group: Group, wanted: list[Permission], *, removed: list[Permission], added: list[Permission]
) -> None:
    """``group.permissions.set(wanted)`` with the audit entries django-auditlog writes for it (the removed
    permissions, then the added ones), named from the permissions already read with their content types:
    auditlog's own handler reads them again and their content types one query each (about 170 queries for
    the Administrator role), which every flush of a transactional test paid (a third of a test worker's
    time in the suite).
    """
    with disable_auditlog():
        group.permissions.set(wanted)
    AuditEntry.objects.log_m2m_changes(removed, group, "delete", "permissions")
    AuditEntry.objects.log_m2m_changes(added, group, "add", "permissions")
