"""event_record: one row with its links, the same line in the log, and never an exception for the database."""

from __future__ import annotations

import logging

import pytest

from django.db import DatabaseError

from eventlog.choices import DiagnosticCode, EventId, EventLevel
from eventlog.models import ConnectorEvent
from eventlog.services import event_record


def test_an_event_is_recorded_with_its_links(db):
    event = event_record(
        event_id=EventId.CRP_VERIFY_SUCCESS,
        message="challenge verified",
        diagnostic_code=DiagnosticCode.SUCCESS,
        details={"reason": ""},
        service_slug="strict",
        scep_transaction_id=7,
        transaction_id="tid-1",
        message_type=19,
        client_address="192.0.2.7",
        device_id=3,
        device_external_id="intune-3",
        user_id=4,
        user_principal_name="alice@corp.example.com",
        authority_slug="issuing",
        ca_name="Issuing CA",
        template_name="ClientAuth",
        serial="0A1B",
        thumbprint="AB" * 20,
    )
    assert event is not None
    row = ConnectorEvent.objects.get()
    assert (row.event_id, row.level, row.message, row.diagnostic_code) == (
        20500,
        "information",
        "challenge verified",
        0,
    )
    assert (row.event_name, row.diagnostic, row.details) == (
        "CRPVerifyMetric_Success",
        "0x00000000 Success",
        {"reason": ""},
    )
    assert (row.device_id, row.device_external_id, row.user_id, row.user_principal_name) == (
        3,
        "intune-3",
        4,
        "alice@corp.example.com",
    )
    assert (row.service_slug, row.scep_transaction_id, row.transaction_id, row.message_type) == (
        "strict",
        7,
        "tid-1",
        19,
    )
    assert (row.authority_slug, row.ca_name, row.template_name, row.serial, row.thumbprint) == (
        "issuing",
        "Issuing CA",
        "ClientAuth",
        "0A1B",
        "AB" * 20,
    )
    assert row.client_address == "192.0.2.7"


def test_what_a_client_sent_is_escaped_and_cut_to_its_column(db):
    event_record(
        event_id=EventId.SCEP_MALFORMED_REQUEST,
        level=EventLevel.WARNING,
        message="bad\x00input\nhere" + "x" * 2000,
        transaction_id="t\x1bid" + "y" * 200,
        user_principal_name="u" * 300,
    )
    row = ConnectorEvent.objects.get()
    assert row.message.startswith("bad\\x00input\\x0ahere")
    assert len(row.message) == 1024
    assert row.message.endswith("…")
    assert row.transaction_id.startswith("t\\x1bid")
    assert len(row.transaction_id) == 128
    assert len(row.user_principal_name) == 255


def test_the_same_line_goes_to_the_log(db, caplog):
    with caplog.at_level(logging.INFO, logger="eventlog"):
        event_record(
            event_id=EventId.CRP_VERIFY_WARNING,
            level=EventLevel.WARNING,
            message="challenge rejected",
            diagnostic_code=DiagnosticCode.CRP_SCEP_CHALLENGE_EXPIRED,
            transaction_id="tid-9",
            device_id=5,
        )
    (record,) = [r for r in caplog.records if r.name == "eventlog"]
    assert record.levelno == logging.WARNING
    assert (
        record.getMessage()
        == "event 20501 challenge rejected code=0x00000411 transaction_id=tid-9 device_id=5"
    )


def test_a_database_error_is_logged_and_not_raised(db, monkeypatch, caplog):
    def refuse(**kwargs):
        raise DatabaseError("the event table is gone")

    monkeypatch.setattr(ConnectorEvent.objects, "create", refuse)
    with caplog.at_level(logging.ERROR, logger="eventlog"):
        assert event_record(event_id=EventId.SCEP_PENDING, message="PENDING") is None
    assert "could not record event 4011" in caplog.text


def test_links_are_plain_values_never_model_instances(db, django_user_model):
    user = django_user_model.objects.create_user(username="not-a-link")
    with pytest.raises(TypeError, match="user_principal_name must be a string"):
        event_record(event_id=EventId.SCEP_PENDING, message="x", user_principal_name=user)
    with pytest.raises(TypeError, match="device_id must be an integer"):
        event_record(event_id=EventId.SCEP_PENDING, message="x", device_id="3")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="unknown event link"):
        event_record(event_id=EventId.SCEP_PENDING, message="x", device=3)  # type: ignore[call-arg]
    assert not ConnectorEvent.objects.exists()
