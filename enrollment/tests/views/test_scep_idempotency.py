"""Retransmissions, transactionID collisions, recorded refusals, and concurrent identical requests.

Reference fault matrix F-04..F-07: a retransmitted request gets the stored result and never a second
certificate; the same transactionID with another key or CSR is refused without touching the original.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from cryptography import x509

from django.db import connection
from django.test import Client

from ca.choices import CertificateRequestStatus
from ca.models import CertificateRequest, IssuedCertificate
from ca.services.revocation import certificate_revoke
from ca.services.submission import certificate_request_approve
from ca.tests.pki import require_postgresql
from enrollment import scep
from enrollment.choices import TransactionStatus
from enrollment.models import ScepTransaction
from enrollment.services.pki_operation import handle
from enrollment.services.pki_operation import transaction as pki_transaction
from enrollment.services.registration import scep_service_set_static_challenge
from enrollment.tests.fixtures import Device, ScepTester, Sent, assert_refused, issued_row, name, weak_rsa_key
from eventlog.choices import EventId
from eventlog.models import ConnectorEvent

#: The first answer is SUCCESS only when the view's transaction commits and the CA task runs on commit.
on_commit = pytest.mark.django_db(transaction=True)


@pytest.fixture
def approval_required(pki):
    pki.template.requires_approval = True
    pki.template.save()
    return pki.template


@on_commit
def test_identical_pkcs_req_sent_twice_gets_the_same_certificate(scep_client, device_keys):
    device = Device.create(device_keys[0])
    sent = scep_client.pkcs_req(device)

    first = scep_client.exchange(sent)
    second = scep_client.exchange(sent)  # the very same bytes: a retransmission after a lost reply

    assert first.status is second.status is scep.PkiStatus.SUCCESS
    assert second.certificate == first.certificate
    assert second.message.sender_nonce != first.message.sender_nonce
    assert IssuedCertificate.objects.count() == 1
    assert CertificateRequest.objects.count() == 1
    assert ScepTransaction.objects.count() == 1
    assert ConnectorEvent.objects.filter(event_id=EventId.CRP_NOTIFY_SUCCESS).count() == 1
    assert ConnectorEvent.objects.filter(event_id=EventId.SCEP_REQUEST_SUCCESS).count() == 1


@pytest.mark.parametrize("method", ["POST", "GET"])
@on_commit
def test_rebuilt_pkcs_req_with_a_new_nonce_gets_the_same_certificate(scep_client, device_keys, method):
    device = Device.create(device_keys[0])
    csr = device.csr()
    first = scep_client.exchange(scep_client.pkcs_req(device, csr), method=method)
    again = scep_client.pkcs_req(device, csr)

    second = scep_client.exchange(again, method=method)

    assert second.certificate.serial_number == first.certificate.serial_number
    assert second.message.recipient_nonce == again.sender_nonce
    assert IssuedCertificate.objects.count() == 1
    stored = ScepTransaction.objects.get().certificate
    assert stored is not None
    assert stored.serial_int == first.certificate.serial_number


@pytest.mark.usefixtures("approval_required")
def test_same_transaction_id_with_another_csr_while_pending_is_bad_request(
    scep_client, device_keys, django_capture_on_commit_callbacks
):
    device = Device.create(device_keys[0])
    original = scep_client.pkcs_req(device)
    assert scep_client.exchange(original).status is scep.PkiStatus.PENDING
    other_csr = device.csr(subject=name("another-name"))

    result = scep_client.exchange(
        scep_client.pkcs_req(device, other_csr, transaction_id=original.transaction_id)
    )

    assert_refused(result, scep.FailInfo.BAD_REQUEST, requests=1)
    assert result.fail_info_text == "this transactionID belongs to another request that is still pending"
    # The original transaction is untouched and still completes.
    transaction = ScepTransaction.objects.get()
    assert transaction.status == TransactionStatus.PENDING
    assert transaction.subject == "CN=device-1,O=certportal tests"
    with django_capture_on_commit_callbacks(execute=True):
        certificate_request_approve(request=CertificateRequest.objects.get(), actor="ca-manager")
    done = scep_client.exchange(scep_client.pkcs_req(device))
    assert done.status is scep.PkiStatus.SUCCESS
    assert done.certificate.subject == device.subject


@on_commit
def test_same_transaction_id_with_another_csr_after_success_is_a_new_transaction(scep_client, device_keys):
    """micromdm's scepclient derives the transactionID from the key: a later enrolment reuses it."""
    device = Device.create(device_keys[0])
    first = scep_client.pkcs_req(device)
    assert scep_client.exchange(first).status is scep.PkiStatus.SUCCESS
    result = scep_client.exchange(
        scep_client.pkcs_req(device, device.csr(subject=name("renamed")), transaction_id=first.transaction_id)
    )
    assert result.status is scep.PkiStatus.SUCCESS
    assert result.certificate.subject == name("renamed")
    assert IssuedCertificate.objects.count() == 2


@on_commit
def test_same_transaction_id_and_csr_from_another_signer_key_is_bad_request(scep_client, device_keys):
    device = Device.create(device_keys[0])
    csr = device.csr()
    original = scep_client.pkcs_req(device, csr)
    issued = scep_client.exchange(original).certificate
    thief = Device.create(device_keys[1])

    result = scep_client.exchange(
        scep_client.message(
            scep.MessageType.PKCS_REQ, csr, signer=thief, transaction_id=original.transaction_id
        )
    )

    assert_refused(result, scep.FailInfo.BAD_REQUEST, issued=1, requests=1)
    transaction = ScepTransaction.objects.get()
    assert transaction.status == TransactionStatus.SUCCESS
    assert transaction.certificate is not None
    assert transaction.certificate.certificate == issued
    # The owner's retransmission still gets its certificate.
    assert scep_client.exchange(scep_client.pkcs_req(device, csr)).certificate == issued


@on_commit
def test_foreign_signer_cannot_poison_a_transaction_before_its_owner(scep_client, device_keys):
    """A refusal for another key's CSR is not stored under the owner's transactionID and CSR."""
    device = Device.create(device_keys[0])
    csr = device.csr()
    tid = scep.transaction_id_for(device.key.public_key())
    thief = Device.create(device_keys[1])
    refused = scep_client.exchange(
        scep_client.message(scep.MessageType.PKCS_REQ, csr, signer=thief, transaction_id=tid)
    )
    assert_refused(refused, scep.FailInfo.BAD_REQUEST, requests=0)

    result = scep_client.exchange(scep_client.pkcs_req(device, csr, transaction_id=tid))

    assert result.status is scep.PkiStatus.SUCCESS


def test_refused_request_retried_gets_the_same_failure(scep_client, scep_service, device_keys):
    device = Device.create(device_keys[0])
    csr = device.csr(challenge="wrong-challenge")
    first = scep_client.exchange(scep_client.pkcs_req(device, csr))
    assert_refused(first, scep.FailInfo.BAD_REQUEST, requests=0)

    second = scep_client.exchange(scep_client.pkcs_req(device, csr))

    assert_refused(second, scep.FailInfo.BAD_REQUEST, requests=0)
    assert second.fail_info_text == first.fail_info_text
    assert ScepTransaction.objects.count() == 1
    assert ConnectorEvent.objects.filter(
        message__startswith="answered from the transaction's stored failure"
    ).exists()
    # The stored answer stands even if that challenge became valid since: a new request is needed.
    scep_service_set_static_challenge(service=scep_service, challenge="wrong-challenge")
    third = scep_client.exchange(scep_client.pkcs_req(device, csr))
    assert_refused(third, scep.FailInfo.BAD_REQUEST, requests=0)
    assert ScepTransaction.objects.count() == 1


def test_refused_bad_alg_request_retried_gets_bad_alg_again(scep_client):
    device = Device.create(weak_rsa_key(), "weak")
    csr = device.csr()
    for _ in range(2):
        assert_refused(
            scep_client.exchange(scep_client.pkcs_req(device, csr)), scep.FailInfo.BAD_ALG, requests=0
        )
    assert ScepTransaction.objects.get().fail_info == scep.FailInfo.BAD_ALG


# --- a ScepTransaction for every PKCSReq and RenewalReq -----------------------------------------------------


def _enrolled(scep_client: ScepTester, device: Device) -> IssuedCertificate:
    result = scep_client.enroll(device)
    assert result.status is scep.PkiStatus.SUCCESS
    return issued_row(result)


def _renewal(scep_client: ScepTester, current: IssuedCertificate, device: Device, csr=None) -> Sent:
    return scep_client.message(
        scep.MessageType.RENEWAL_REQ,
        csr or device.csr(challenge=None),
        signer=scep.ScepIdentity(current.certificate, device.key),
        transaction_id="renewal-transaction",
    )


def _scenario(kind: str, scep_client: ScepTester, pki, device_keys) -> Sent:
    device = Device.create(device_keys[0])
    if kind == "issued":
        return scep_client.pkcs_req(device)
    if kind == "pending":
        pki.template.requires_approval = True
        pki.template.save()
        return scep_client.pkcs_req(device)
    if kind == "no-challenge":
        return scep_client.pkcs_req(device, device.csr(challenge=None))
    if kind == "wrong-challenge":
        return scep_client.pkcs_req(device, device.csr(challenge="nope"))
    if kind == "upn-san":
        upn = x509.OtherName(x509.ObjectIdentifier("1.3.6.1.4.1.311.20.2.3"), b"\x0c\x03a@b")
        return scep_client.pkcs_req(device, device.csr(extensions=(x509.SubjectAlternativeName([upn]),)))
    if kind == "rsa-1024":
        return scep_client.pkcs_req(Device.create(weak_rsa_key()))
    current = _enrolled(scep_client, device)
    if kind == "renewed":
        return _renewal(scep_client, current, device)
    if kind == "renewal-revoked":
        certificate_revoke(certificate_id=current.pk, reason="superseded")
        return _renewal(scep_client, current, device)
    if kind == "renewal-other-subject":
        return _renewal(scep_client, current, device, device.csr(challenge=None, subject=name("x")))
    if kind == "renewal-disabled":
        scep_client.service.allow_renewal = False
        scep_client.service.save()
        return _renewal(scep_client, current, device)
    raise AssertionError(kind)


SCENARIOS = [
    pytest.param("issued", scep.PkiStatus.SUCCESS, id="issued"),
    pytest.param("pending", scep.PkiStatus.PENDING, id="pending"),
    pytest.param("no-challenge", scep.PkiStatus.FAILURE, id="no-challenge"),
    pytest.param("wrong-challenge", scep.PkiStatus.FAILURE, id="wrong-challenge"),
    pytest.param("upn-san", scep.PkiStatus.FAILURE, id="upn-san"),
    pytest.param("rsa-1024", scep.PkiStatus.FAILURE, id="rsa-1024"),
    pytest.param("renewed", scep.PkiStatus.SUCCESS, id="renewed"),
    pytest.param("renewal-revoked", scep.PkiStatus.FAILURE, id="renewal-revoked"),
    pytest.param("renewal-other-subject", scep.PkiStatus.FAILURE, id="renewal-other-subject"),
    pytest.param(
        "renewal-disabled",
        scep.PkiStatus.FAILURE,
        id="renewal-disabled",
    ),
]


@pytest.mark.parametrize(("kind", "status"), SCENARIOS)
@on_commit
def test_every_pkcs_req_and_renewal_req_leaves_a_transaction(scep_client, pki, device_keys, kind, status):
    sent = _scenario(kind, scep_client, pki, device_keys)

    result = scep_client.exchange(sent)

    assert result.status is status
    transaction = ScepTransaction.objects.get(
        transaction_id=sent.transaction_id, message_type=int(sent.message_type)
    )
    assert (
        transaction.status
        == {
            scep.PkiStatus.SUCCESS: TransactionStatus.SUCCESS,
            scep.PkiStatus.PENDING: TransactionStatus.PENDING,
            scep.PkiStatus.FAILURE: TransactionStatus.FAILURE,
        }[status]
    )
    assert transaction.fail_info == (None if result.fail_info is None else int(result.fail_info))
    assert transaction.signer_public_key_sha256
    assert transaction.csr_sha256
    assert transaction.client_address == "127.0.0.1"


# --- races --------------------------------------------------------------------------------------------------


def test_retransmission_racing_the_first_copy_gets_the_same_answer(
    scep_client, device_keys, approval_required, monkeypatch
):
    device = Device.create(device_keys[0])
    sent = scep_client.pkcs_req(device)
    assert scep_client.exchange(sent).status is scep.PkiStatus.PENDING
    # The retransmission looked for its transaction just before the first copy committed it.
    lookup = pki_transaction.transaction_find
    calls: list[object] = []

    def late_lookup(*args):
        calls.append(args)
        return None if len(calls) == 1 else lookup(*args)

    monkeypatch.setattr(handle, "transaction_find", late_lookup)  # what the handler looks the request up with

    result = scep_client.exchange(scep_client.pkcs_req(device))

    assert result.status is scep.PkiStatus.PENDING
    assert CertificateRequest.objects.get().status == CertificateRequestStatus.PENDING_APPROVAL


@pytest.mark.postgres
@on_commit
def test_concurrent_identical_pkcs_reqs_issue_one_certificate(scep_client: ScepTester, device_keys):
    require_postgresql()
    device = Device.create(device_keys[0])
    sent = scep_client.pkcs_req(device)
    threads = 8
    barrier = threading.Barrier(threads)

    def send(_: int) -> scep.CertRepResult:
        try:
            client = Client()
            barrier.wait(timeout=30)
            response = client.post(
                f"{scep_client.url}?operation=PKIOperation",
                data=sent.der,
                content_type=scep.CONTENT_TYPE_PKI_MESSAGE,
            )
            return scep_client.reply(sent, response)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=threads) as pool:
        results = list(pool.map(send, range(threads)))

    assert IssuedCertificate.objects.count() == 1
    assert CertificateRequest.objects.count() == 1
    assert ScepTransaction.objects.count() == 1
    issued = IssuedCertificate.objects.get().certificate
    answers = {(result.status, result.fail_info, result.fail_info_text) for result in results}
    assert answers <= {(scep.PkiStatus.SUCCESS, None, None), (scep.PkiStatus.PENDING, None, None)}, answers
    assert {result.certificate for result in results if result.status is scep.PkiStatus.SUCCESS} == {issued}
    assert any(result.status is scep.PkiStatus.SUCCESS for result in results)
