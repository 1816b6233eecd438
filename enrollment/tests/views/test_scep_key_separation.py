"""The web tier never needs the CA key: without it a PKCSReq is queued and answered PENDING, and the
device's CertPoll gets the certificate once the CA worker has issued it. The RA key, which the web
tier does need, missing is a 503, not a 500."""

from __future__ import annotations

import datetime as dt

import pytest

from django.utils import timezone

from ca.choices import CertificateRequestStatus
from ca.models import CertificateRequest, IssuedCertificate
from ca.services.submission import certificate_request_redispatch_stale
from ca.tasks import certificate_issue_task
from enrollment import scep
from enrollment.choices import TransactionStatus
from enrollment.models import ScepTransaction
from enrollment.tests.fixtures import Device, issued_row
from eventlog.choices import EventId
from eventlog.models import ConnectorEvent

pytestmark = pytest.mark.usefixtures("transactional_db")

CA_PASSPHRASE = "test-ca-passphrase"


@pytest.fixture
def web_tier(settings):
    """This process as a web worker: no CA key passphrase, and a short wait for the CA."""
    settings.CERTPORTAL_CA_KEY_PASSPHRASE = ""
    settings.CERTPORTAL_SCEP_ISSUE_WAIT = 0.2
    return settings


def poll(scep_client, pki, device: Device, transaction_id: str):
    return scep_client.message(
        scep.MessageType.CERT_POLL,
        scep.build_issuer_and_subject(pki.issuing.certificate.subject, device.subject),
        signer=device,
        transaction_id=transaction_id,
    )


def test_pkcs_req_without_the_ca_key_is_pending_then_issued_by_the_ca_worker(
    scep_client, pki, device_keys, web_tier
):
    device = Device.create(device_keys[0])
    sent = scep_client.pkcs_req(device)

    pending = scep_client.exchange(sent)

    assert pending.status is scep.PkiStatus.PENDING
    request = CertificateRequest.objects.get()
    assert request.status == CertificateRequestStatus.QUEUED  # the dispatch failed; the request waits
    assert IssuedCertificate.objects.count() == 0
    assert ScepTransaction.objects.get().status == TransactionStatus.PENDING
    assert ConnectorEvent.objects.filter(event_id=EventId.SCEP_PENDING).count() == 1
    assert scep_client.exchange(poll(scep_client, pki, device, sent.transaction_id)).status is (
        scep.PkiStatus.PENDING
    )

    # The CA worker, which has the passphrase, issues it.
    web_tier.CERTPORTAL_CA_KEY_PASSPHRASE = CA_PASSPHRASE
    certificate_issue_task({"request_id": request.pk})

    done = scep_client.exchange(poll(scep_client, pki, device, sent.transaction_id))
    assert done.status is scep.PkiStatus.SUCCESS
    assert done.certificate == IssuedCertificate.objects.get().certificate
    assert done.certificate.public_key() == device.key.public_key()
    assert ScepTransaction.objects.get().status == TransactionStatus.SUCCESS
    # The retransmitted PKCSReq gets the same certificate.
    assert scep_client.exchange(scep_client.pkcs_req(device)).certificate == done.certificate
    assert IssuedCertificate.objects.count() == 1


def test_queued_request_is_issued_by_the_sweep_once_the_ca_is_back(scep_client, pki, device_keys, web_tier):
    device = Device.create(device_keys[0])
    sent = scep_client.pkcs_req(device)
    assert scep_client.exchange(sent).status is scep.PkiStatus.PENDING

    web_tier.CERTPORTAL_CA_KEY_PASSPHRASE = CA_PASSPHRASE
    assert certificate_request_redispatch_stale(older_than=dt.timedelta(0)) == 1

    result = scep_client.exchange(poll(scep_client, pki, device, sent.transaction_id))
    assert result.status is scep.PkiStatus.SUCCESS
    assert issued_row(result).request == CertificateRequest.objects.get()


def test_a_poll_sends_its_stale_request_again_without_beat(scep_client, pki, device_keys, web_tier):
    """The request's task was lost (a killed worker, a Redis restart, the broker down at submission) and
    beat is down: the device's CertPoll, once the request has waited CERTPORTAL_REQUEST_REDISPATCH_AFTER,
    sends it to the CA worker again (the fault suite's test_beat_down_and_a_task_lost_with_its_worker).
    """
    device = Device.create(device_keys[0])
    sent = scep_client.pkcs_req(device)
    assert scep_client.exchange(sent).status is scep.PkiStatus.PENDING
    web_tier.CERTPORTAL_CA_KEY_PASSPHRASE = CA_PASSPHRASE
    web_tier.CERTPORTAL_REQUEST_REDISPATCH_AFTER = 60

    # Not yet stale: the poll waits for the CA worker and sends nothing.
    assert scep_client.exchange(poll(scep_client, pki, device, sent.transaction_id)).status is (
        scep.PkiStatus.PENDING
    )
    CertificateRequest.objects.update(updated_at=timezone.now() - dt.timedelta(seconds=61))
    result = scep_client.exchange(poll(scep_client, pki, device, sent.transaction_id))

    assert result.status is scep.PkiStatus.SUCCESS
    assert issued_row(result).request == CertificateRequest.objects.get()
    assert IssuedCertificate.objects.count() == 1


def test_operations_that_sign_nothing_work_without_the_ca_key(
    scep_client, client, pki, device_keys, settings
):
    device = Device.create(device_keys[0])
    issued = issued_row(scep_client.enroll(device))
    settings.CERTPORTAL_CA_KEY_PASSPHRASE = ""

    assert client.get("/scep/strict", {"operation": "GetCACaps"}).status_code == 200
    assert client.get("/scep/strict", {"operation": "GetCACert"}).status_code == 200
    get_cert = scep_client.message(
        scep.MessageType.GET_CERT,
        scep.build_issuer_and_serial(pki.issuing.certificate.subject, issued.serial_int),
        signer=device,
    )
    assert scep_client.exchange(get_cert).certificates == (issued.certificate,)
    get_crl = scep_client.message(
        scep.MessageType.GET_CRL,
        scep.build_issuer_and_serial(pki.issuing.certificate.subject, issued.serial_int),
        signer=device,
    )
    assert scep_client.exchange(get_crl).crl is not None
    # A retransmission of the finished enrolment is answered from the database.
    assert scep_client.exchange(scep_client.pkcs_req(device)).certificate == issued.certificate


@pytest.mark.parametrize(
    ("method", "operation"), [("get", "GetCACert"), ("post", "PKIOperation"), ("get", "GetNextCACert")]
)
def test_missing_ra_key_passphrase_is_503(scep_client, device_keys, settings, method, operation):
    client = scep_client.client
    settings.CERTPORTAL_RA_KEY_PASSPHRASE = ""
    data = {"data": scep_client.pkcs_req(Device.create(device_keys[0])).der} if method == "post" else {}
    if method == "post":
        data["content_type"] = scep.CONTENT_TYPE_PKI_MESSAGE
    response = getattr(client, method)(f"/scep/strict?operation={operation}", **data)
    if operation == "GetNextCACert":
        assert response.status_code == 404  # no rollover configured: nothing needs the RA key
        return
    assert response.status_code == 503
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response["Retry-After"] == "30"
    assert response.content == b"the SCEP service is not available (RA key)\n"
    assert CertificateRequest.objects.count() == 0


def test_get_ca_caps_needs_no_ra_key(client, scep_service, settings):
    settings.CERTPORTAL_RA_KEY_PASSPHRASE = ""
    assert client.get("/scep/strict", {"operation": "GetCACaps"}).status_code == 200
