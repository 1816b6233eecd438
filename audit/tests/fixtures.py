"""Helpers of the audit log's tests: sealing without waiting, and tampering behind the application's back."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

import pytest

from django.db import connection
from django.utils import timezone

from audit.models import AuditEntry
from audit.services.sealing import chain_seal

__all__ = ["entries_for", "sealing", "tamper"]

TRIGGERS = {
    "audit_auditentry": ("audit_auditentry_append_only",),
    "audit_chainlink": ("audit_chainlink_no_update", "audit_chainlink_keep_audit_links"),
}


@pytest.fixture
def sealing(settings: Any) -> Callable[[], dict[str, int]]:
    """Seal everything written so far (no sealing delay, a moment in the future)."""
    settings.CERTPORTAL_AUDIT_SEAL_DELAY = 0

    def _seal() -> dict[str, int]:
        return chain_seal(now=timezone.now() + dt.timedelta(seconds=1))

    return _seal


@pytest.fixture
def tamper(db: None) -> Callable[[str, Sequence[Any]], int]:
    """Run raw SQL as someone with direct access to the database would: on PostgreSQL the append-only
    triggers are disabled for the statement (as the tables' owner can), inside the test's transaction.
    """

    def _tamper(sql: str, params: Sequence[Any] = ()) -> int:
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                _triggers(cursor, "DISABLE")
            cursor.execute(sql, list(params))
            changed = cursor.rowcount
            if connection.vendor == "postgresql":
                _triggers(cursor, "ENABLE")
        return int(changed)

    return _tamper


def _triggers(cursor: Any, verb: str) -> None:
    for table, names in TRIGGERS.items():
        for name in names:
            cursor.execute(f"ALTER TABLE {table} {verb} TRIGGER {name}")


def entries_for(model_label: str, object_pk: object) -> Any:
    """The entries of one object, oldest first (``model_label``: ``app_label.ModelName``)."""
    return AuditEntry.objects.filter(object_type=model_label.lower(), object_pk=str(object_pk)).order_by("id")
