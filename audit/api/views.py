"""The audit log API: read-only for everyone (entries are written by the writes they record)."""

from __future__ import annotations

from typing import ClassVar

from rest_framework import viewsets

from audit.api.filtersets import AuditEntryFilterSet
from audit.api.serializers import AuditEntrySerializer
from audit.selectors import audit_entry_list

__all__ = ["AuditEntryViewSet"]


class AuditEntryViewSet(viewsets.ReadOnlyModelViewSet):  # type: ignore[type-arg]
    """Every write: who, what, when, the changed fields' before and after values; newest first. Needs
    ``audit.view_auditentry``.
    """

    queryset = audit_entry_list()
    serializer_class = AuditEntrySerializer
    filterset_class = AuditEntryFilterSet
    ordering_fields: ClassVar[list[str]] = ["timestamp", "id"]
