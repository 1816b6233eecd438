"""PKIOperation through the Django view, by GET and by POST, for every message type the server accepts.

PKCSReq (19), RenewalReq (17), CertPoll (20), GetCert (21), GetCRL (22). These tests run with
``transactional_db``: the view commits the request and the (eager) CA task issues it on commit, so the
first answer is SUCCESS, as it is in production when the CA worker answers within the wait.
"""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import ExtendedKeyUsageOID, ObjectIdentifier

from ca.choices import CertificateRequestStatus
from ca.models import CertificateRequest, CertificateRevocationList, IssuedCertificate
from ca.services.revocation import certificate_revoke
from ca.services.submission import certificate_request_approve, certificate_request_deny
from ca.tests.pki import openssl, openssl_verify, write_pem
from enrollment import scep
from enrollment.choices import Authorization, TransactionStatus
from enrollment.models import ScepTransaction
from enrollment.tests.fixtures import Device, assert_refused, issued_row, name
from eventlog.choices import EventId
from eventlog.models import ConnectorEvent

#: The first answer is SUCCESS only when the view's transaction commits and the CA task runs on commit.
on_commit = pytest.mark.django_db(transaction=True)

METHODS = ["POST", "GET"]


def enrolled(scep_client, device: Device) -> tuple[scep.CertRepResult, IssuedCertificate]:
    result = scep_client.enroll(device)
    assert result.status is scep.PkiStatus.SUCCESS, result.fail_info_text
    return result, issued_row(result)


def renewal(scep_client, current: IssuedCertificate, key, csr: x509.CertificateSigningRequest, **kwargs):
    """A RenewalReq for ``csr`` signed by ``current`` (and its key)."""
    return scep_client.message(
        scep.MessageType.RENEWAL_REQ, csr, signer=scep.ScepIdentity(current.certificate, key), **kwargs
    )


def poll(scep_client, pki, device: Device, transaction_id: str, *, signer: Device | None = None):
    return scep_client.message(
        scep.MessageType.CERT_POLL,
        scep.build_issuer_and_subject(pki.issuing.certificate.subject, device.subject),
        signer=signer or device,
        transaction_id=transaction_id,
    )


# --- PKCSReq ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", METHODS)
@on_commit
def test_pkcs_req_issues_a_certificate_encrypted_to_the_requester(
    scep_client, pki, device_keys, tmp_path, method
):
    device = Device.create(device_keys[0], "laptop-7")
    csr = device.csr()
    sent = scep_client.pkcs_req(device, csr)

    result = scep_client.exchange(sent, method=method)

    assert result.status is scep.PkiStatus.SUCCESS
    assert result.fail_info is None
    issued = result.certificate
    assert issued is not None
    # The degenerate SignedData: the issued certificate first, then the chain.
    assert result.certificates == (issued, pki.issuing.certificate, pki.root.certificate)
    assert issued.public_key() == device.key.public_key()
    assert issued.subject == csr.subject  # static challenge: the request supplies its subject
    assert issued.issuer == pki.issuing.certificate.subject
    eku = issued.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.CLIENT_AUTH]  # the template's, TestClientAuth
    usage = issued.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature
    assert usage.key_encipherment
    assert not usage.key_cert_sign
    openssl_verify(tmp_path, issued, pki.issuing.certificate, pki.root.certificate)

    row = IssuedCertificate.objects.get()
    assert row.certificate == issued
    assert row.template == pki.template
    assert row.request is not None
    assert row.request.requester == "scep:strict"
    transaction = ScepTransaction.objects.get()
    assert transaction.transaction_id == sent.transaction_id
    assert transaction.message_type == scep.MessageType.PKCS_REQ
    assert transaction.status == TransactionStatus.SUCCESS
    assert transaction.certificate == row
    assert transaction.certificate_request == row.request
    assert transaction.authorization == Authorization.STATIC_CHALLENGE
    assert transaction.challenge is None
    assert transaction.subject == "CN=laptop-7,O=certportal tests"
    assert transaction.client_address == "127.0.0.1"
    assert transaction.renewed_certificate is None
    events = list(
        ConnectorEvent.objects.filter(transaction_id=sent.transaction_id)
        .order_by("id")
        .values_list("event_id", flat=True)
    )
    assert events == [EventId.CRP_VERIFY_SUCCESS, EventId.CRP_NOTIFY_SUCCESS]


@on_commit
def test_csr_extensions_are_not_copied(scep_client, device_keys, tmp_path, pki):
    """ESC1: a request asking for CA:TRUE, more EKUs or key usages gets only what the template says."""
    device = Device.create(device_keys[0])
    private_oid = ObjectIdentifier("1.3.6.1.4.1.55555.1")
    csr = device.csr(
        extensions=(
            x509.BasicConstraints(ca=True, path_length=None),
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE]
            ),
            x509.UnrecognizedExtension(private_oid, b"\x05\x00"),
        )
    )

    result = scep_client.enroll(device, csr)

    assert result.status is scep.PkiStatus.SUCCESS
    issued = result.certificate
    constraints = issued.extensions.get_extension_for_class(x509.BasicConstraints).value
    assert constraints.ca is False
    assert list(issued.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value) == [
        ExtendedKeyUsageOID.CLIENT_AUTH
    ]
    assert private_oid not in {extension.oid for extension in issued.extensions}
    assert not issued.extensions.get_extension_for_class(x509.KeyUsage).value.key_cert_sign
    # openssl agrees: a client certificate, neither a server nor a CA certificate.
    openssl_verify(tmp_path, issued, pki.issuing.certificate, pki.root.certificate, purpose="sslclient")
    leaf = write_pem(tmp_path / "leaf.pem", issued)
    chain = pki.chain_file(tmp_path)
    refused = openssl("verify", "-CAfile", str(chain), "-purpose", "sslserver", str(leaf), check=False)
    assert refused.returncode != 0


@on_commit
def test_cert_rep_answers_the_request(scep_client, device_keys, scep_service):
    device = Device.create(device_keys[0])
    sent = scep_client.pkcs_req(device)

    reply = scep_client.reply(sent, scep_client.send(sent))

    message = reply.message
    assert message.message_type == scep.MessageType.CERT_REP
    assert message.transaction_id == sent.transaction_id
    assert message.recipient_nonce == sent.sender_nonce
    assert len(message.sender_nonce) == 16
    assert message.sender_nonce != sent.sender_nonce
    assert message.signer_certificate == scep_service.registration_authority.certificate
    assert message.digest_algorithm is scep.DigestAlgorithm.SHA256
    content = message.signed_content
    assert content.content_type_attribute == "1.2.840.113549.1.7.1"
    assert content.message_digest_attribute is not None
    assert content.signing_time is not None
    assert abs(content.signing_time - dt.datetime.now(tz=dt.UTC)) < dt.timedelta(minutes=1)
    # The CA chain travels with the RA certificate, so a client can chain the RA to the CA.
    assert message.certificates[0] == scep_service.registration_authority.certificate
    # A retransmission gets a fresh senderNonce of its own.
    again = scep_client.pkcs_req(device)
    second = scep_client.exchange(again)
    assert second.message.recipient_nonce == again.sender_nonce
    assert second.message.sender_nonce not in {message.sender_nonce, again.sender_nonce}


@pytest.mark.parametrize(
    "digest", [scep.DigestAlgorithm.SHA256, scep.DigestAlgorithm.SHA384, scep.DigestAlgorithm.SHA512]
)
@on_commit
def test_cert_rep_is_signed_with_the_request_digest(scep_client, device_keys, digest):
    result = scep_client.enroll(Device.create(device_keys[0]), digest=digest)
    assert result.status is scep.PkiStatus.SUCCESS
    assert result.message.digest_algorithm is digest


@pytest.mark.parametrize(
    "cipher", [scep.ContentCipher.AES128_CBC, scep.ContentCipher.AES192_CBC, scep.ContentCipher.AES256_CBC]
)
@pytest.mark.parametrize("method", METHODS)
@on_commit
def test_cert_rep_uses_the_request_cipher(scep_client, device_keys, cipher, method):
    result = scep_client.enroll(Device.create(device_keys[0]), cipher=cipher, method=method)
    assert result.status is scep.PkiStatus.SUCCESS
    assert result.cipher is cipher


@on_commit
def test_legacy_service_accepts_sha1_and_3des(scep_tester, legacy_scep_service, device_keys, pki, tmp_path):
    tester = scep_tester(legacy_scep_service)
    result = tester.enroll(
        Device.create(device_keys[0]),
        cipher=scep.ContentCipher.DES3_CBC,
        digest=scep.DigestAlgorithm.SHA1,
        policy=scep.AlgorithmPolicy(allow_legacy=True),
    )
    assert result.status is scep.PkiStatus.SUCCESS
    openssl_verify(tmp_path, result.certificate, pki.issuing.certificate, pki.root.certificate)


@on_commit
def test_des_request_is_not_answered_with_des(scep_tester, legacy_scep_service, device_keys):
    tester = scep_tester(legacy_scep_service)
    result = tester.enroll(
        Device.create(device_keys[0]),
        cipher=scep.ContentCipher.DES_CBC,
        policy=scep.AlgorithmPolicy(allow_legacy=True),
    )
    assert result.status is scep.PkiStatus.SUCCESS
    # Reference section 1.5: never answer with single DES (OpenSSL 3 clients cannot read it).
    assert result.cipher is not scep.ContentCipher.DES_CBC
    assert result.cipher in {
        scep.ContentCipher.DES3_CBC,
        scep.ContentCipher.AES128_CBC,
        scep.ContentCipher.AES256_CBC,
    }


# --- RenewalReq ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", METHODS)
@on_commit
def test_renewal_with_a_new_key_signed_by_the_issued_certificate(
    scep_client, device_keys, pki, tmp_path, method
):
    device = Device.create(device_keys[0])
    _, current = enrolled(scep_client, device)
    new_key = device_keys[1]
    csr = Device.create(new_key).csr(challenge=None)

    result = scep_client.exchange(renewal(scep_client, current, device_keys[0], csr), method=method)

    assert result.status is scep.PkiStatus.SUCCESS, result.fail_info_text
    renewed = result.certificate
    assert renewed.public_key() == new_key.public_key()
    assert renewed.subject == current.certificate.subject
    assert renewed.serial_number != current.certificate.serial_number
    openssl_verify(tmp_path, renewed, pki.issuing.certificate, pki.root.certificate)
    assert IssuedCertificate.objects.count() == 2
    transaction = ScepTransaction.objects.get(message_type=scep.MessageType.RENEWAL_REQ)
    assert transaction.renewed_certificate == current
    assert transaction.certificate == issued_row(result)
    assert transaction.status == TransactionStatus.SUCCESS
    assert transaction.authorization == Authorization.RENEWAL
    assert transaction.challenge is None


@on_commit
def test_renewal_reusing_the_enrolment_csr_and_transaction_id(scep_client, device_keys):
    """micromdm's scepclient: same key, same CSR (with the challenge), same transactionID."""
    device = Device.create(device_keys[0])
    csr = device.csr()
    first = scep_client.pkcs_req(device, csr)
    enrolment = scep_client.exchange(first)
    current = issued_row(enrolment)

    sent = renewal(scep_client, current, device.key, csr, transaction_id=first.transaction_id)
    result = scep_client.exchange(sent)

    assert result.status is scep.PkiStatus.SUCCESS, result.fail_info_text
    assert result.certificate.serial_number != current.certificate.serial_number
    assert result.certificate.public_key() == current.certificate.public_key()
    assert ScepTransaction.objects.filter(transaction_id=first.transaction_id).count() == 2
    assert ScepTransaction.objects.get(message_type=17).renewed_certificate == current


def _refused_renewal(scep_client, sent, *, issued: int, text: str) -> None:
    result = scep_client.exchange(sent)
    assert_refused(result, scep.FailInfo.BAD_REQUEST, issued=issued)
    assert text in result.fail_info_text
    transaction = ScepTransaction.objects.get(message_type=scep.MessageType.RENEWAL_REQ)
    assert transaction.status == TransactionStatus.FAILURE
    assert transaction.fail_info == scep.FailInfo.BAD_REQUEST


def test_renewal_signed_by_a_revoked_certificate_is_refused(enrol_now, scep_client, device_keys):
    device = Device.create(device_keys[0])
    current = enrol_now(device)
    certificate_revoke(certificate_id=current.pk, reason="key_compromise")
    sent = renewal(scep_client, current, device.key, device.csr(challenge=None))
    _refused_renewal(scep_client, sent, issued=1, text="is revoked")


def test_renewal_signed_by_an_expired_certificate_is_refused(enrol_now, scep_client, device_keys):
    device = Device.create(device_keys[0])
    current = enrol_now(device)
    with time_machine.travel(current.not_after + dt.timedelta(days=1), tick=False):
        sent = renewal(scep_client, current, device.key, device.csr(challenge=None))
        _refused_renewal(scep_client, sent, issued=1, text="has expired")


def test_renewal_signed_by_a_foreign_ca_certificate_is_refused(enrol_now, scep_client, device_keys):
    device = Device.create(device_keys[0])
    enrol_now(device)
    foreign_key = device_keys[3]
    foreign_ca = name("Foreign CA")
    now = dt.datetime.now(tz=dt.UTC)
    foreign = (
        x509.CertificateBuilder()
        .subject_name(device.subject)
        .issuer_name(foreign_ca)
        .public_key(device.key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=30))
        .sign(foreign_key, hashes.SHA256())
    )
    sent = scep_client.message(
        scep.MessageType.RENEWAL_REQ,
        device.csr(challenge=None),
        signer=scep.ScepIdentity(foreign, device.key),
    )
    _refused_renewal(scep_client, sent, issued=1, text="signed by a certificate this CA issued")


def test_renewal_signed_by_a_self_signed_certificate_is_refused(scep_client, device_keys):
    """A device without a certificate cannot use RenewalReq to skip the challenge."""
    device = Device.create(device_keys[0])
    sent = scep_client.message(scep.MessageType.RENEWAL_REQ, device.csr(challenge=None), signer=device)
    _refused_renewal(scep_client, sent, issued=0, text="signed by a certificate this CA issued")
    assert CertificateRequest.objects.count() == 0


def test_renewal_for_another_subject_is_refused(enrol_now, scep_client, device_keys):
    device = Device.create(device_keys[0])
    current = enrol_now(device)
    csr = device.csr(challenge=None, subject=name("somebody-else"))
    _refused_renewal(
        scep_client, renewal(scep_client, current, device.key, csr), issued=1, text="different subject"
    )


def test_renewal_is_refused_when_the_service_disallows_it(enrol_now, scep_client, scep_service, device_keys):
    device = Device.create(device_keys[0])
    current = enrol_now(device)
    scep_service.allow_renewal = False
    scep_service.save()
    scep_client.service.refresh_from_db()

    result = scep_client.exchange(renewal(scep_client, current, device.key, device.csr(challenge=None)))

    assert_refused(result, scep.FailInfo.BAD_REQUEST, issued=1)
    assert result.fail_info_text == "renewal is disabled on this SCEP service"


def test_renewal_before_the_renewal_window_is_refused(enrol_now, scep_client, scep_service, device_keys):
    device = Device.create(device_keys[0])
    current = enrol_now(device)
    scep_service.renewal_window_days = 30  # the certificate is valid for 365 days
    scep_service.save()
    sent = renewal(scep_client, current, device.key, device.csr(challenge=None))
    _refused_renewal(scep_client, sent, issued=1, text="renewal opens 30 days before expiry")


@on_commit
def test_renewal_inside_the_renewal_window(scep_client, scep_service, device_keys):
    device = Device.create(device_keys[0])
    _, current = enrolled(scep_client, device)
    scep_service.renewal_window_days = 30
    scep_service.save()
    with time_machine.travel(current.not_after - dt.timedelta(days=10), tick=False):
        result = scep_client.exchange(renewal(scep_client, current, device.key, device.csr(challenge=None)))
    assert result.status is scep.PkiStatus.SUCCESS, result.fail_info_text
    assert IssuedCertificate.objects.count() == 2


# --- CertPoll --------------------------------------------------------------------------------------------


@pytest.fixture
def approval_required(pki):
    pki.template.requires_approval = True
    pki.template.save()
    return pki.template


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.usefixtures("approval_required")
def test_cert_poll_pending_then_approved(
    scep_client, pki, device_keys, django_capture_on_commit_callbacks, method
):
    device = Device.create(device_keys[0])
    sent = scep_client.pkcs_req(device)

    pending = scep_client.exchange(sent, method=method)

    assert pending.status is scep.PkiStatus.PENDING
    assert pending.fail_info is None
    assert pending.message.envelope is None
    assert ScepTransaction.objects.get().status == TransactionStatus.PENDING
    request = CertificateRequest.objects.get()
    assert request.status == CertificateRequestStatus.PENDING_APPROVAL
    assert ConnectorEvent.objects.filter(event_id=EventId.SCEP_PENDING).count() == 1

    still = scep_client.exchange(poll(scep_client, pki, device, sent.transaction_id), method=method)
    assert still.status is scep.PkiStatus.PENDING
    assert IssuedCertificate.objects.count() == 0

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        certificate_request_approve(request=request, actor="ca-manager")
    assert len(callbacks) == 1  # the dispatch to the CA, on commit

    done = scep_client.exchange(poll(scep_client, pki, device, sent.transaction_id), method=method)
    assert done.status is scep.PkiStatus.SUCCESS
    row = IssuedCertificate.objects.get()
    assert done.certificate == row.certificate
    assert done.certificate.public_key() == device.key.public_key()
    transaction = ScepTransaction.objects.get()
    assert transaction.status == TransactionStatus.SUCCESS
    assert transaction.certificate == row
    # Polling again, or resending the PKCSReq, gives the same certificate.
    again = scep_client.exchange(poll(scep_client, pki, device, sent.transaction_id))
    assert again.certificate == row.certificate
    assert scep_client.exchange(scep_client.pkcs_req(device)).certificate == row.certificate
    assert IssuedCertificate.objects.count() == 1


def test_cert_poll_after_denial_is_a_failure(scep_client, pki, device_keys, approval_required):
    device = Device.create(device_keys[0])
    sent = scep_client.pkcs_req(device)
    assert scep_client.exchange(sent).status is scep.PkiStatus.PENDING
    certificate_request_deny(request=CertificateRequest.objects.get(), actor="ca-manager", reason="not ours")

    result = scep_client.exchange(poll(scep_client, pki, device, sent.transaction_id))

    assert result.status is scep.PkiStatus.FAILURE
    assert result.fail_info is scep.FailInfo.BAD_REQUEST
    assert result.fail_info_text == "not ours"
    assert IssuedCertificate.objects.count() == 0
    assert ScepTransaction.objects.get().status == TransactionStatus.FAILURE
    assert ConnectorEvent.objects.filter(event_id=EventId.SCEP_ISSUED_FAILURE).exists()


def test_cert_poll_with_an_unknown_transaction_id_is_bad_cert_id(scep_client, pki, device_keys):
    device = Device.create(device_keys[0])
    result = scep_client.exchange(poll(scep_client, pki, device, "no-such-transaction"))
    assert_refused(result, scep.FailInfo.BAD_CERT_ID)
    assert result.fail_info_text == "no transaction with this transactionID"
    assert ScepTransaction.objects.count() == 0


def test_cert_poll_from_another_signer_key_is_bad_request(
    scep_client, pki, device_keys, approval_required, django_capture_on_commit_callbacks
):
    device = Device.create(device_keys[0])
    sent = scep_client.pkcs_req(device)
    assert scep_client.exchange(sent).status is scep.PkiStatus.PENDING
    with django_capture_on_commit_callbacks(execute=True):
        certificate_request_approve(request=CertificateRequest.objects.get(), actor="ca-manager")
    thief = Device.create(device_keys[1])

    result = scep_client.exchange(poll(scep_client, pki, device, sent.transaction_id, signer=thief))

    assert_refused(result, scep.FailInfo.BAD_REQUEST, issued=1)
    assert result.fail_info_text == "this transactionID belongs to another requester"
    # The owner still gets its certificate.
    assert (
        scep_client.exchange(poll(scep_client, pki, device, sent.transaction_id)).status
        is scep.PkiStatus.SUCCESS
    )


# --- GetCert and GetCRL ------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", METHODS)
def test_get_cert_by_issuer_and_serial(enrol_now, scep_client, pki, device_keys, method):
    issued = enrol_now(Device.create(device_keys[0]))
    other = Device.create(device_keys[1], "someone-else")  # certificates are public

    sent = scep_client.message(
        scep.MessageType.GET_CERT,
        scep.build_issuer_and_serial(pki.issuing.certificate.subject, issued.serial_int),
        signer=other,
    )
    result = scep_client.exchange(sent, method=method)

    assert result.status is scep.PkiStatus.SUCCESS
    assert result.certificates == (issued.certificate,)
    assert IssuedCertificate.objects.count() == 1
    assert ScepTransaction.objects.filter(message_type=scep.MessageType.GET_CERT).count() == 0
    assert ConnectorEvent.objects.filter(
        event_id=EventId.SCEP_REQUEST_SUCCESS, message_type=scep.MessageType.GET_CERT
    ).exists()


def test_get_cert_for_an_unknown_serial_is_bad_cert_id(enrol_now, scep_client, pki, device_keys):
    issued = enrol_now(Device.create(device_keys[0]))
    sent = scep_client.message(
        scep.MessageType.GET_CERT,
        scep.build_issuer_and_serial(pki.issuing.certificate.subject, issued.serial_int + 1),
        signer=Device.create(device_keys[1]),
    )
    result = scep_client.exchange(sent)
    assert_refused(result, scep.FailInfo.BAD_CERT_ID, issued=1)
    assert result.fail_info_text.startswith("no certificate with serial ")


def test_get_cert_for_an_unknown_issuer_is_bad_cert_id(enrol_now, scep_client, device_keys):
    issued = enrol_now(Device.create(device_keys[0]))
    sent = scep_client.message(
        scep.MessageType.GET_CERT,
        scep.build_issuer_and_serial(name("Unknown CA"), issued.serial_int),
        signer=Device.create(device_keys[1]),
    )
    result = scep_client.exchange(sent)
    assert_refused(result, scep.FailInfo.BAD_CERT_ID, issued=1)
    assert result.fail_info_text == "no CA named CN=Unknown CA,O=certportal tests"


@pytest.mark.parametrize("method", METHODS)
def test_get_crl(scep_client, pki, device_keys, tmp_path, method):
    device = Device.create(device_keys[0])
    sent = scep_client.message(
        scep.MessageType.GET_CRL,
        scep.build_issuer_and_serial(pki.issuing.certificate.subject, 1),
        signer=device,
    )

    result = scep_client.exchange(sent, method=method)

    assert result.status is scep.PkiStatus.SUCCESS
    crl = result.crl
    assert crl is not None
    assert result.certificates == ()
    assert crl.issuer == pki.issuing.certificate.subject
    assert crl.is_signature_valid(pki.issuing.certificate.public_key())
    latest = CertificateRevocationList.objects.filter(authority=pki.issuing).order_by("-number").first()
    assert latest is not None
    assert crl == x509.load_der_x509_crl(bytes(latest.der))
    crl_file = write_pem(tmp_path / "crl.pem", crl)
    checked = openssl("crl", "-in", str(crl_file), "-CAfile", str(pki.chain_file(tmp_path)), "-noout")
    assert "verify OK" in checked.stderr


def test_get_crl_lists_a_revoked_certificate(enrol_now, scep_client, pki, device_keys):
    issued = enrol_now(Device.create(device_keys[0]))
    certificate_revoke(certificate_id=issued.pk, reason="key_compromise")
    sent = scep_client.message(
        scep.MessageType.GET_CRL,
        scep.build_issuer_and_serial(pki.issuing.certificate.subject, issued.serial_int),
        signer=Device.create(device_keys[1]),
    )
    crl = scep_client.exchange(sent).crl
    assert crl.get_revoked_certificate_by_serial_number(issued.serial_int) is not None
