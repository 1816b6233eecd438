"""The event log streamed to a SIEM: a real UDP socket receives each event as a CEF line over syslog."""

from __future__ import annotations

import datetime as dt
import socket
from collections.abc import Iterator

import pytest

from core.request_ids import request_id_reset, request_id_set
from eventlog.choices import DiagnosticCode, EventId, EventLevel
from eventlog.conf import EventlogSettings
from eventlog.services import event_record
from eventlog.syslog import cef_line, syslog_target_parse


@pytest.fixture
def siem() -> Iterator[socket.socket]:
    receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    receiver.bind(("127.0.0.1", 0))
    receiver.settimeout(5)
    yield receiver
    receiver.close()


def test_an_event_reaches_the_siem_as_a_cef_line(db, settings, siem):
    settings.CERTPORTAL_EVENT_SYSLOG = f"udp://127.0.0.1:{siem.getsockname()[1]}?facility=local4"
    token = request_id_set("req-0123456789")
    try:
        event = event_record(
            event_id=EventId.SCEP_VERIFY_FAILURE,
            level=EventLevel.WARNING,
            message="the challenge has already been used | again=yes",
            diagnostic_code=DiagnosticCode.UNKNOWN_ERROR,
            transaction_id="tid-1",
            client_address="192.0.2.10",
            user_principal_name="jdoe@corp.example.com",
            fail_info=2,
        )
    finally:
        request_id_reset(token)

    line = siem.recv(65535).decode()
    assert event is not None
    # <local4 (20) * 8 + warning (4)>, RFC 5424 version 1, then the CEF record.
    assert line.startswith("<164>1 ")
    cef = line[line.index("CEF:0|") :]
    header = cef.split("|")
    assert header[:7] == ["CEF:0", "certportal", "certportal", "1.0", str(int(EventId.SCEP_VERIFY_FAILURE)),
                          EventId.SCEP_VERIFY_FAILURE.label, "6"]  # fmt: skip
    extension = cef.split("|", 7)[7]
    assert "msg=the challenge has already been used | again\\=yes" in extension
    assert "src=192.0.2.10" in extension
    assert "suser=jdoe@corp.example.com" in extension
    assert "cs1Label=scepTransactionId cs1=tid-1" in extension
    assert "cs2Label=requestId cs2=req-0123456789" in extension
    assert f"cn1Label=diagnosticCode cn1={int(DiagnosticCode.UNKNOWN_ERROR)}" in extension
    assert "cn2Label=failInfo cn2=2" in extension
    assert f"externalId={event.pk}" in extension


def test_no_stream_without_the_setting(db, siem):
    event_record(event_id=EventId.UPLOAD_SUCCESS, message="not streamed")

    siem.settimeout(0.2)  # a datagram sent would be there at once: nothing comes
    with pytest.raises(TimeoutError):
        siem.recv(65535)


def test_an_unreachable_siem_does_not_fail_the_event(db, settings, caplog):
    settings.CERTPORTAL_EVENT_SYSLOG = "tcp://127.0.0.1:1"  # nothing listens on port 1

    event = event_record(event_id=EventId.UPLOAD_SUCCESS, message="recorded anyway")

    assert event is not None
    assert event.pk
    assert "not streamed" in caplog.text


def test_header_fields_are_escaped():
    cef = cef_line(
        event_id=1,
        name="a|b\\c",
        level="error",
        message="line1\nline2",
        created_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        diagnostic_code=None,
        links={"client_address": "not an address"},
    )

    assert "|a\\|b\\\\c|8|" in cef
    assert "msg=line1\\nline2" in cef
    assert "src=" not in cef


@pytest.mark.parametrize("url", ["http://siem:514", "udp://", "udp://siem:99999", "udp://siem?facility=nope"])
def test_invalid_urls_are_refused(url):
    with pytest.raises(ValueError):  # noqa: PT011 - the messages differ by URL
        syslog_target_parse(url)
    with pytest.raises(ValueError):  # noqa: PT011
        EventlogSettings(EVENT_SYSLOG=url)
