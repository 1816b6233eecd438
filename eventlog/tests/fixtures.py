"""Rows of the event log for the admin and API tests."""

from __future__ import annotations

import datetime as dt

import pytest

from django.utils import timezone

from eventlog.choices import DiagnosticCode, EventId, EventLevel
from eventlog.models import ConnectorEvent
from eventlog.services import event_record

__all__ = ["events"]


@pytest.fixture
def events(db: None) -> dict[str, ConnectorEvent]:
    """An expired challenge of one device, an issuance for another, a CA worker start two days ago."""
    expired = event_record(
        event_id=EventId.CRP_VERIFY_WARNING,
        level=EventLevel.WARNING,
        message="challenge rejected: request denied due to expired certificate challenge",
        diagnostic_code=DiagnosticCode.CRP_SCEP_CHALLENGE_EXPIRED,
        details={"reason": "ChallengeExpired"},
        service_slug="strict",
        transaction_id="tid-expired",
        device_id=11,
        device_external_id="intune-11",
        user_id=21,
        user_principal_name="alice@corp.example.com",
    )
    issued = event_record(
        event_id=EventId.SCEP_ISSUED_SUCCESS,
        message="issued certificate 0A1B",
        service_slug="strict",
        transaction_id="tid-issued",
        device_id=12,
        device_external_id="intune-12",
        user_id=22,
        user_principal_name="bob@corp.example.com",
        authority_slug="issuing",
        ca_name="Issuing CA",
        serial="0A1B",
        thumbprint="C0FFEE" + "0" * 34,
    )
    started = event_record(
        event_id=EventId.STARTED_CONNECTOR_SERVICE,
        message="connector service started",
        diagnostic_code=DiagnosticCode.SUCCESS,
    )
    assert expired is not None
    assert issued is not None
    assert started is not None
    ConnectorEvent.objects.filter(pk=started.pk).update(created_at=timezone.now() - dt.timedelta(days=2))
    started.refresh_from_db()
    return {"expired": expired, "issued": issued, "started": started}
