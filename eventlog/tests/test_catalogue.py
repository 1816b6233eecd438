"""The catalogue: every event ID and diagnostic code of the reference, described, and the same in the docs."""

from __future__ import annotations

import re
from pathlib import Path

from eventlog.catalogue import DIAGNOSTICS, EVENTS, EventSource, diagnostic_describe, diagnostic_display
from eventlog.choices import DiagnosticCode, EventId

ARCHITECTURE = Path(__file__).resolve().parents[2] / "docs" / "architecture.md"

#: The reference's table "Event IDs and descriptions" (Intune Connector events and diagnostic codes).
REFERENCE_EVENTS = {
    10010: "StartedConnectorService",
    10020: "StoppedConnectorService",
    10100: "CertificateRenewal_Success",
    10102: "CertificateRenewal_Failure",
    10302: "RetrieveCertificate_Error",
    10301: "RetrieveCertificate_Warning",
    20100: "PkcsCertIssue_Success",
    20102: "PkcsCertIssue_Failure",
    20200: "RevokeCert_Success",
    20202: "RevokeCert_Failure",
    20300: "Upload_Success",
    20302: "Upload_Failure",
    20400: "Download_Success",
    20402: "Download_Failure",
    20500: "CRPVerifyMetric_Success",
    20501: "CRPVerifyMetric_Warning",
    20502: "CRPVerifyMetric_Failure",
    20600: "CRPNotifyMetric_Success",
    20602: "CRPNotifyMetric_Failure",
}
#: The reference's table "Diagnostic codes".
REFERENCE_CODES = {
    0x00000000: "Success",
    0x00000400: "PKCS_Issue_CA_Unavailable",
    0x00000401: "Symantec_ClientAuthCertNotFound",
    0x00000402: "RevokeCert_AccessDenied",
    0x00000403: "CertThumbprint_NotFound",
    0x00000404: "Certificate_NotFound",
    0x00000405: "Certificate_Expired",
    0x00000408: "CRPSCEPCert_NotFound",
    0x00000409: "CRPSCEPSigningCert_NotFound",
    0x00000410: "CRPSCEPDeserialize_Failed",
    0x00000411: "CRPSCEPChallenge_Expired",
    0x0FFFFFFF: "Unknown_Error",
}


def test_every_event_of_the_reference_has_its_id_and_name():
    assert {
        event.value: event.label for event in EventId if event.value in REFERENCE_EVENTS
    } == REFERENCE_EVENTS


def test_every_diagnostic_code_of_the_reference_has_its_value_and_name():
    assert {code.value: code.label for code in DiagnosticCode} == REFERENCE_CODES


def test_the_scep_module_and_certportal_ranges_are_kept_apart():
    for event in EventId:
        source = EVENTS[event].source
        if event.value in REFERENCE_EVENTS:
            assert source == EventSource.REFERENCE, event
        elif 4000 <= event.value < 4100:
            assert source == EventSource.SCEP_MODULE, event
        else:
            assert 30000 <= event.value < 31000, event
            assert source == EventSource.CERTPORTAL, event
    assert (EventId.DEVICE_CHECK_IN.value, EventId.CHALLENGE_ISSUED.value) == (30001, 30002)


def test_every_event_and_code_is_described():
    assert set(EVENTS) == set(EventId)
    assert set(DIAGNOSTICS) == set(DiagnosticCode)
    assert all(description.description for description in EVENTS.values())
    assert all(description.message and description.action for description in DIAGNOSTICS.values())


def test_the_reference_messages_are_kept_word_for_word():
    assert DIAGNOSTICS[DiagnosticCode.CRP_SCEP_CHALLENGE_EXPIRED].message == (
        "Request denied due to expired certificate challenge. The client device can retry after obtaining a "
        "new challenge from the management server."
    )
    assert EVENTS[EventId.CRP_VERIFY_SUCCESS].description == (
        "Certificate Registration Point successfully verified a client challenge"
    )


def test_a_code_is_shown_as_the_connector_shows_it():
    assert diagnostic_display(0x411) == "0x00000411 CRPSCEPChallenge_Expired"
    assert diagnostic_display(DiagnosticCode.UNKNOWN_ERROR) == "0x0FFFFFFF Unknown_Error"
    assert diagnostic_display(0x999) == "0x00000999"
    assert diagnostic_display(None) == ""
    assert diagnostic_describe(0x999) is None
    described = diagnostic_describe(0x409)
    assert described is not None
    assert "CERTPORTAL_RA_KEY_PASSPHRASE" in described.action


def test_the_architecture_document_lists_every_event_id_and_code():
    text = ARCHITECTURE.read_text(encoding="utf-8")
    section = text[text.index("## The event log") :]
    sources = {EventSource.REFERENCE: "reference", EventSource.SCEP_MODULE: "SCEP module"}
    for event in EventId:
        described = EVENTS[event]
        row = (
            f"| {event.value} | {event.label} | {sources.get(described.source, described.source)} | "
            f"{described.description} | {described.recorded_when or 'not recorded'} |"
        )
        assert re.search(rf"^{re.escape(row)}$", section, re.M), row
    for code in DiagnosticCode:
        assert re.search(rf"^\| 0x{code.value:08X} \| {re.escape(code.label)} \|", section, re.M), code
