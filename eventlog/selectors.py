"""Reads of the event log."""

from __future__ import annotations

from django.db.models import QuerySet

from eventlog.models import ConnectorEvent

__all__ = ["device_timeline"]


def device_timeline(*, device_id: int) -> QuerySet[ConnectorEvent]:
    """Everything recorded about one device, newest first: check-ins, challenges handed out, requests
    accepted or refused, certificates issued and revoked (the revocations carry the device the requester
    named). Served by the (device_id, created_at) index.
    """
    return ConnectorEvent.objects.filter(device_id=device_id).order_by("-created_at", "-id")
