"""The event log API: read-only (events are recorded by the services, never posted)."""

from __future__ import annotations

from typing import ClassVar

from rest_framework import viewsets

from eventlog.api.filtersets import ConnectorEventFilterSet
from eventlog.api.serializers import ConnectorEventSerializer
from eventlog.models import ConnectorEvent

__all__ = ["ConnectorEventViewSet"]


class ConnectorEventViewSet(viewsets.ReadOnlyModelViewSet):  # type: ignore[type-arg]
    """The connector's event log, newest first, with the reference's event IDs and diagnostic codes."""

    queryset = ConnectorEvent.objects.all()
    serializer_class = ConnectorEventSerializer
    filterset_class = ConnectorEventFilterSet
    ordering_fields: ClassVar[list[str]] = ["created_at", "event_id"]
