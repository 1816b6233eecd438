"""The SCEP front end in the connector's event log: what an enrollment records, and every diagnostic code
the SCEP path can emit, provoked through the endpoint (the RA's certificate or key unavailable or expired,
a refused challenge, the CA unable to sign, a verifier that cannot record the outcome).

The one-time challenge's codes (0x00000411 expired, 0x00000410 tampered) and the device links of a grant
are in ``profiles/tests/test_scep_events.py``.
"""

from __future__ import annotations

import datetime as dt

import pytest

from django.db import DatabaseError

from ca.choices import CertificateRequestStatus
from ca.models import CertificateAuthority, CertificateRequest, IssuedCertificate
from enrollment import ra as ra_module
from enrollment import scep
from enrollment.models import RegistrationAuthority, ScepTransaction
from enrollment.tests.fixtures import STATIC_CHALLENGE, Device
from enrollment.verifiers.static import StaticChallengeVerifier
from eventlog.choices import DiagnosticCode, EventId, EventLevel
from eventlog.models import ConnectorEvent


@pytest.fixture(autouse=True)
def _fresh_ra_cache(monkeypatch):
    """Every test loads its RA again (the cache is per process, and a test may reuse a row's id)."""
    monkeypatch.setattr(ra_module, "_cache", {})


def _ids() -> list[int]:
    return list(ConnectorEvent.objects.order_by("id").values_list("event_id", flat=True))


def _get_ca_cert(client):
    return client.get("/scep/strict", {"operation": "GetCACert"})


# --- an enrollment ----------------------------------------------------------------------------------------


def test_an_enrollment_records_the_connectors_events_in_order(enrol_now, scep_client, device_keys, pki):
    issued = enrol_now(Device.create(device_keys[0]))

    assert _ids() == [
        EventId.CRP_VERIFY_SUCCESS,  # the static challenge granted the PKCSReq
        EventId.SCEP_PENDING,  # answered before the CA (enrol_now: no wait)
        EventId.UPLOAD_SUCCESS,  # handed to the CA queue on commit
        EventId.DOWNLOAD_SUCCESS,  # signed by the CA task
        EventId.CRP_NOTIFY_SUCCESS,  # the retransmission gets the certificate
    ]
    verified = ConnectorEvent.objects.get(event_id=EventId.CRP_VERIFY_SUCCESS)
    assert (verified.diagnostic, verified.service_slug, verified.message_type) == (
        "0x00000000 Success",
        "strict",
        scep.MessageType.PKCS_REQ,
    )
    assert verified.message == "challenge verified (static challenge) by StaticChallengeVerifier"
    assert (verified.authority_slug, verified.ca_name, verified.template_name) == (
        pki.issuing.slug,
        pki.issuing.name,
        pki.template.name,
    )
    assert verified.device_id is None  # a static challenge names no device
    transaction = ScepTransaction.objects.get()
    for event_id in (EventId.CRP_NOTIFY_SUCCESS,):
        event = ConnectorEvent.objects.get(event_id=event_id)
        assert (event.scep_transaction_id, event.transaction_id) == (
            transaction.pk,
            transaction.transaction_id,
        )
        assert (event.serial, event.thumbprint, event.authority_slug) == (
            issued.serial,
            issued.fingerprint_sha1,
            pki.issuing.slug,
        )
        assert event.client_address == "127.0.0.1"


def test_a_wrong_static_challenge_is_a_rejected_challenge(scep_client, device_keys):
    device = Device.create(device_keys[0])

    result = scep_client.enroll(device, device.csr(challenge="wrong-challenge"))

    assert result.status is scep.PkiStatus.FAILURE
    assert _ids() == [EventId.CRP_VERIFY_WARNING, EventId.SCEP_VERIFY_FAILURE]
    rejected = ConnectorEvent.objects.get(event_id=EventId.CRP_VERIFY_WARNING)
    assert (rejected.level, rejected.diagnostic_code, rejected.fail_info) == (
        EventLevel.WARNING,
        None,
        scep.FailInfo.BAD_REQUEST,
    )
    assert rejected.message == "challenge rejected: the challenge password is not valid for this SCEP service"
    assert rejected.transaction_id == result.transaction_id


def test_a_pkcs_req_without_a_challenge_is_a_rejected_challenge(scep_client, device_keys):
    device = Device.create(device_keys[0])
    assert scep_client.enroll(device, device.csr(challenge=None)).status is scep.PkiStatus.FAILURE
    assert ConnectorEvent.objects.get(event_id=EventId.CRP_VERIFY_WARNING).message == (
        "challenge rejected: PKCSReq without a challengePassword"
    )


# --- the RA: 0x00000408, 0x00000409, 0x00000405 -----------------------------------------------------------


def test_an_ra_key_that_cannot_be_decrypted_is_0x409(client, scep_client, device_keys, settings):
    sent = scep_client.pkcs_req(Device.create(device_keys[0]))
    settings.CERTPORTAL_RA_KEY_PASSPHRASE = "not-the-ra-passphrase"

    ca_cert = _get_ca_cert(client)
    pki_operation = scep_client.send(sent)

    assert (ca_cert.status_code, pki_operation.status_code) == (503, 503)
    assert _ids() == [
        EventId.RETRIEVE_CERTIFICATE_ERROR,  # GetCACert
        EventId.RETRIEVE_CERTIFICATE_ERROR,  # PKIOperation: the RA ...
        EventId.CRP_VERIFY_FAILURE,  # ... and so the request cannot be verified
    ]
    ra = scep_client.service.registration_authority
    for event in ConnectorEvent.objects.all():
        assert (event.level, event.diagnostic) == (EventLevel.ERROR, "0x00000409 CRPSCEPSigningCert_NotFound")
        assert event.service_slug == "strict"
    retrieve = ConnectorEvent.objects.filter(event_id=EventId.RETRIEVE_CERTIFICATE_ERROR).first()
    assert retrieve is not None
    assert retrieve.thumbprint == ra.fingerprint_sha1
    assert retrieve.message == (
        "the RA cannot be loaded: the RA key cannot be decrypted: wrong CERTPORTAL_RA_KEY_PASSPHRASE?"
    )
    assert ConnectorEvent.objects.get(event_id=EventId.CRP_VERIFY_FAILURE).client_address == "127.0.0.1"
    assert ScepTransaction.objects.count() == IssuedCertificate.objects.count() == 0


def test_a_web_tier_without_the_ra_passphrase_is_0x409(client, scep_service, settings):
    settings.CERTPORTAL_RA_KEY_PASSPHRASE = ""
    assert _get_ca_cert(client).status_code == 503
    event = ConnectorEvent.objects.get()
    assert event.diagnostic_code == DiagnosticCode.CRP_SCEP_SIGNING_CERT_NOT_FOUND
    assert "no RA key passphrase" in event.message


def test_an_unreadable_ra_certificate_is_0x408(client, scep_client, device_keys):
    sent = scep_client.pkcs_req(Device.create(device_keys[0]))
    RegistrationAuthority.objects.update(certificate_pem="-----BEGIN CERTIFICATE-----\nbroken\n")
    ra_module._cache.clear()  # as after a restart: the web tier loads the RA again

    assert _get_ca_cert(client).status_code == 503
    assert scep_client.send(sent).status_code == 503

    assert _ids() == [
        EventId.RETRIEVE_CERTIFICATE_ERROR,
        EventId.RETRIEVE_CERTIFICATE_ERROR,
        EventId.CRP_VERIFY_FAILURE,
    ]
    assert set(ConnectorEvent.objects.values_list("diagnostic_code", flat=True)) == {
        DiagnosticCode.CRP_SCEP_CERT_NOT_FOUND
    }
    first = ConnectorEvent.objects.order_by("id").first()
    assert first is not None
    assert first.message.startswith("the RA cannot be loaded: the RA certificate cannot be read")


def test_an_expired_ra_certificate_is_0x405_and_still_served(client, scep_service, time_machine):
    expiry = scep_service.registration_authority.not_after
    time_machine.move_to(expiry + dt.timedelta(days=1), tick=False)

    response = _get_ca_cert(client)

    assert response.status_code == 200
    certificates, _ = scep.parse_degenerate(response.content)
    assert certificates[0] == scep_service.registration_authority.certificate
    event = ConnectorEvent.objects.get()
    assert (event.event_id, event.level, event.diagnostic) == (
        EventId.RETRIEVE_CERTIFICATE_ERROR,
        EventLevel.ERROR,
        "0x00000405 Certificate_Expired",
    )
    assert event.message.startswith(f"the RA certificate expired on {expiry:%Y-%m-%d}")
    _get_ca_cert(client)
    assert ConnectorEvent.objects.count() == 1  # once per process: the RA is cached from then on


# --- the CA: 0x00000400 -----------------------------------------------------------------------------------


def test_a_ca_disabled_between_submission_and_signing_is_0x400(
    scep_client, device_keys, pki, settings, django_capture_on_commit_callbacks
):
    settings.CERTPORTAL_SCEP_ISSUE_WAIT = 0
    device = Device.create(device_keys[0])
    with django_capture_on_commit_callbacks() as dispatch:
        assert scep_client.enroll(device).status is scep.PkiStatus.PENDING
    CertificateAuthority.objects.filter(pk=pki.issuing.pk).update(enabled=False)
    for callback in dispatch:
        callback()  # the CA worker takes the request: the CA is disabled by now

    refused = ConnectorEvent.objects.get(event_id=EventId.PKCS_CERT_ISSUE_FAILURE)
    assert (refused.level, refused.diagnostic) == (EventLevel.ERROR, "0x00000400 PKCS_Issue_CA_Unavailable")
    assert (refused.authority_slug, refused.template_name) == (pki.issuing.slug, pki.template.name)
    result = scep_client.enroll(device)  # the retransmission learns the outcome
    assert result.status is scep.PkiStatus.FAILURE
    assert ConnectorEvent.objects.get(event_id=EventId.SCEP_ISSUED_FAILURE).message == (
        f"CA {pki.issuing} is disabled"
    )
    assert IssuedCertificate.objects.count() == 0


def test_a_ca_worker_without_the_ca_passphrase_is_0x400_and_the_request_waits(
    scep_client, device_keys, settings, django_capture_on_commit_callbacks
):
    settings.CERTPORTAL_SCEP_ISSUE_WAIT = 0
    settings.CERTPORTAL_CA_KEY_PASSPHRASE = ""
    with django_capture_on_commit_callbacks(execute=True):
        assert scep_client.enroll(Device.create(device_keys[0])).status is scep.PkiStatus.PENDING

    failure = ConnectorEvent.objects.get(event_id=EventId.DOWNLOAD_FAILURE)
    assert (failure.level, failure.diagnostic_code) == (
        EventLevel.ERROR,
        DiagnosticCode.PKCS_ISSUE_CA_UNAVAILABLE,
    )
    assert failure.details["error"] == "KeyBackendUnavailable"
    assert CertificateRequest.objects.get().status == CertificateRequestStatus.QUEUED


def test_a_ca_that_cannot_take_requests_is_refused_with_0x400(scep_client, device_keys, pki):
    CertificateAuthority.objects.filter(pk=pki.issuing.pk).update(enabled=False)

    result = scep_client.enroll(Device.create(device_keys[0]))

    assert result.status is scep.PkiStatus.FAILURE
    refusal = ConnectorEvent.objects.get(event_id=EventId.SCEP_VERIFY_FAILURE)
    assert (refusal.diagnostic_code, refusal.details["reason"]) == (0x400, "authority_disabled")


# --- 0x0FFFFFFF ------------------------------------------------------------------------------------------


def test_a_verifier_that_cannot_record_the_outcome_is_0x0fffffff(enrol_now, device_keys, monkeypatch):
    def broken(self, transaction):
        raise DatabaseError("the verifier's table is locked")

    monkeypatch.setattr(StaticChallengeVerifier, "notify", broken, raising=False)

    issued = enrol_now(Device.create(device_keys[0]))

    failure = ConnectorEvent.objects.get(event_id=EventId.CRP_NOTIFY_FAILURE)
    assert (failure.level, failure.diagnostic) == (EventLevel.ERROR, "0x0FFFFFFF Unknown_Error")
    assert (
        failure.message
        == "StaticChallengeVerifier could not record the outcome: the verifier's table is locked"
    )
    assert failure.scep_transaction_id == ScepTransaction.objects.get().pk
    assert not ConnectorEvent.objects.filter(event_id=EventId.CRP_NOTIFY_SUCCESS).exists()
    assert issued.serial  # the device still got its certificate


def test_the_static_challenge_is_not_logged(enrol_now, device_keys):
    enrol_now(Device.create(device_keys[0]))
    for event in ConnectorEvent.objects.all():
        assert STATIC_CHALLENGE not in f"{event.message} {event.details}"
