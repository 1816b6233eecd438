"""Every failInfo the endpoint answers with, and malformed input (reference matrix C-*, P-*).

A refusal of a message we could verify is HTTP 200 + CertRep FAILURE with the exact failInfo, nothing
issued, and a ScepVerifyFailure (4005) event. Input that cannot be answered with a CertRep is HTTP 400
plain text with a reason and a ScepMalformedRequest (4020) event, never a 500.
"""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Callable

import pytest

from asn1crypto import csr as asn1_csr
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from ca.models import CertificateRequest, IssuedCertificate
from enrollment import scep
from enrollment.choices import TransactionStatus
from enrollment.models import ScepTransaction
from enrollment.scep import schema
from enrollment.scep.constants import OID_MESSAGE_TYPE, OID_SENDER_NONCE, OID_TRANSACTION_ID
from enrollment.scep.envelope import DECRYPTION_FAILED
from enrollment.scep.message import scep_attributes
from enrollment.scep.signeddata import sign_signed_data
from enrollment.services.registration import scep_service_set_static_challenge
from enrollment.tests.fixtures import STATIC_CHALLENGE, Device, assert_refused, name, weak_rsa_key
from eventlog.choices import EventId
from eventlog.models import ConnectorEvent

UPN = x509.ObjectIdentifier("1.3.6.1.4.1.311.20.2.3")


def rewrite_signed_data(der: bytes, change: Callable[[schema.SignedData], object]) -> bytes:
    """Apply ``change`` to the SignedData of a pkiMessage and re-encode it (the signature is not redone)."""
    content_info = schema.ContentInfo.load(der)
    change(content_info["content"])
    return bytes(content_info.dump(force=True))


def flip_signature(der: bytes) -> bytes:
    def flip(signed_data: schema.SignedData) -> None:
        signer = signed_data["signer_infos"][0]
        signature = bytearray(signer["signature"].native)
        signature[len(signature) // 2] ^= 0x01
        signer["signature"] = bytes(signature)

    return rewrite_signed_data(der, flip)


def without_attribute(der: bytes, oid: str) -> bytes:
    def remove(signed_data: schema.SignedData) -> None:
        signer = signed_data["signer_infos"][0]
        signer["signed_attrs"] = [a.copy() for a in signer["signed_attrs"] if a["type"].dotted != oid]

    return rewrite_signed_data(der, remove)


def self_signed(key: rsa.RSAPrivateKey, subject: x509.Name) -> x509.Certificate:
    return scep.self_signed_signer(key, subject)


def refusal_recorded(sent, fail_info: scep.FailInfo) -> ScepTransaction:
    transaction = ScepTransaction.objects.get(transaction_id=sent.transaction_id)
    assert transaction.status == TransactionStatus.FAILURE
    assert transaction.fail_info == fail_info
    assert transaction.certificate is None
    return transaction


# --- badRequest: message types off the allow-list (CVE-2026-30836) ------------------------------------------


@pytest.mark.parametrize("message_type", [3, 18, 0, 99, "abc", "", "019", "19.0", "-19"])
@pytest.mark.parametrize("method", ["POST", "GET"])
def test_message_type_off_the_allow_list_issues_nothing(
    scep_client, device_keys, django_capture_on_commit_callbacks, message_type, method
):
    """A PKCSReq-shaped message with a valid challenge, under a type the server does not handle."""
    device = Device.create(device_keys[0])
    sent = scep_client.message(message_type, device.csr(), signer=device)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        result = scep_client.exchange(sent, method=method)

    assert callbacks == []  # nothing was handed to the CA
    assert_refused(result, scep.FailInfo.BAD_REQUEST, issued=0, requests=0)
    assert result.fail_info_text.startswith(f"messageType {str(message_type)!r} is not a request")
    assert IssuedCertificate.objects.count() == 0
    assert CertificateRequest.objects.count() == 0
    assert ScepTransaction.objects.count() == 0


def test_the_same_message_as_pkcs_req_is_issued(
    scep_client, device_keys, django_capture_on_commit_callbacks, settings
):
    """The control for the test above: only the message type differs."""
    settings.CERTPORTAL_SCEP_ISSUE_WAIT = 0  # the CA runs when the callbacks do, after the answer
    device = Device.create(device_keys[0])
    sent = scep_client.message(scep.MessageType.PKCS_REQ, device.csr(), signer=device)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        scep_client.send(sent)
    assert len(callbacks) == 1
    assert IssuedCertificate.objects.count() == 1


# --- badRequest: authorisation ------------------------------------------------------------------------------


def test_pkcs_req_without_a_challenge_is_bad_request(db, scep_client, device_keys):
    device = Device.create(device_keys[0])
    sent = scep_client.pkcs_req(device, device.csr(challenge=None))
    result = scep_client.exchange(sent)
    assert_refused(result, scep.FailInfo.BAD_REQUEST, requests=0)
    assert result.fail_info_text == "PKCSReq without a challengePassword"
    refusal_recorded(sent, scep.FailInfo.BAD_REQUEST)


@pytest.mark.parametrize("challenge", ["wrong", STATIC_CHALLENGE.upper(), STATIC_CHALLENGE + " ", ""])
def test_pkcs_req_with_a_wrong_challenge_is_bad_request(db, scep_client, device_keys, challenge):
    device = Device.create(device_keys[0])
    sent = scep_client.pkcs_req(device, device.csr(challenge=challenge))
    result = scep_client.exchange(sent)
    assert_refused(result, scep.FailInfo.BAD_REQUEST, requests=0)
    refusal_recorded(sent, scep.FailInfo.BAD_REQUEST)


def test_challenge_of_another_service_is_refused(
    db, scep_tester, scep_service, legacy_scep_service, device_keys
):
    scep_service_set_static_challenge(service=legacy_scep_service, challenge="legacy-only-challenge")
    device = Device.create(device_keys[0])
    tester = scep_tester()
    result = tester.enroll(device, device.csr(challenge="legacy-only-challenge"))
    assert_refused(result, scep.FailInfo.BAD_REQUEST, requests=0)
    assert result.fail_info_text == "the challenge password is not valid for this SCEP service"


def test_csr_key_other_than_the_signer_key_is_bad_request(db, scep_client, device_keys):
    device = Device.create(device_keys[0])
    someone = Device.create(device_keys[1])
    sent = scep_client.pkcs_req(device, someone.csr())
    result = scep_client.exchange(sent)
    assert_refused(result, scep.FailInfo.BAD_REQUEST, requests=0)
    assert result.fail_info_text == "the certificate request's key is not the key that signed the message"


def test_signer_subject_other_than_the_csr_subject_is_accepted(transactional_db, scep_client, device_keys):
    """micromdm's signer is CN=SCEP SIGNER: only the key must match (RFC 8894 section 2.3)."""
    key = device_keys[0]
    signer = scep.ScepIdentity(self_signed(key, name("SCEP SIGNER")), key)
    csr = Device.create(key, "dev-42").csr()
    result = scep_client.exchange(scep_client.message(scep.MessageType.PKCS_REQ, csr, signer=signer))
    assert result.status is scep.PkiStatus.SUCCESS
    assert result.certificate.subject == name("dev-42")


def test_static_challenge_cannot_authorise_a_upn_san(db, scep_client, device_keys):
    device = Device.create(device_keys[0])
    upn = x509.OtherName(UPN, b"\x0c\x12administrator@corp")
    csr = device.csr(extensions=(x509.SubjectAlternativeName([x509.DNSName("dev.example"), upn]),))
    sent = scep_client.pkcs_req(device, csr)
    result = scep_client.exchange(sent)
    assert_refused(result, scep.FailInfo.BAD_REQUEST, requests=0)
    assert "UPN" in result.fail_info_text
    refusal_recorded(sent, scep.FailInfo.BAD_REQUEST)


def test_static_challenge_takes_dns_sans_from_the_request(transactional_db, scep_client, device_keys):
    device = Device.create(device_keys[0])
    csr = device.csr(extensions=(x509.SubjectAlternativeName([x509.DNSName("dev.example")]),))
    result = scep_client.enroll(device, csr)
    assert result.status is scep.PkiStatus.SUCCESS
    sans = result.certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert list(sans) == [x509.DNSName("dev.example")]


def test_template_that_does_not_take_the_subject_from_the_request(db, scep_client, pki, device_keys):
    pki.template.subject_supplied_in_request = False
    pki.template.save()
    device = Device.create(device_keys[0])
    sent = scep_client.pkcs_req(device)
    result = scep_client.exchange(sent)
    assert_refused(result, scep.FailInfo.BAD_REQUEST, requests=0)
    assert "does not let the request supply its subject" in result.fail_info_text


def test_pkcs_req_without_an_envelope_is_bad_request(db, scep_client, device_keys):
    device = Device.create(device_keys[0])
    nonce = b"n" * 16
    tid = "no-envelope"
    der = sign_signed_data(
        econtent=None,
        attributes=scep_attributes(message_type=19, transaction_id=tid, sender_nonce=nonce),
        signer_certificate=device.signer,
        signer_key=device.key,
        digest=scep.DigestAlgorithm.SHA256,
    )
    response = scep_client.send(der)
    result = scep.parse_cert_rep(
        response.content,
        signer_key=device.key,
        signer_certificate=device.signer,
        expected_recipient_nonce=nonce,
        ra_certificate=scep_client.ra_certificate,
        expected_transaction_id=tid,
    )
    assert_refused(result, scep.FailInfo.BAD_REQUEST)
    assert result.fail_info_text == "the message has no pkcsPKIEnvelope"


# --- badAlg -------------------------------------------------------------------------------------------------


def test_sha1_signed_message_is_bad_alg_without_legacy(db, scep_client, device_keys):
    device = Device.create(device_keys[0])
    sent = scep_client.pkcs_req(device, digest=scep.DigestAlgorithm.SHA1)
    result = scep_client.exchange(sent)
    assert_refused(result, scep.FailInfo.BAD_ALG, requests=0)
    assert "SHA-1" in result.fail_info_text
    # The refusal itself is signed with SHA-256, not with the refused digest.
    assert result.message.digest_algorithm is scep.DigestAlgorithm.SHA256


@pytest.mark.parametrize("cipher", [scep.ContentCipher.DES_CBC, scep.ContentCipher.DES3_CBC])
def test_des_envelope_is_bad_alg_without_legacy(db, scep_client, device_keys, cipher):
    device = Device.create(device_keys[0])
    result = scep_client.exchange(scep_client.pkcs_req(device, cipher=cipher))
    assert_refused(result, scep.FailInfo.BAD_ALG, requests=0)
    assert cipher.display_name in result.fail_info_text


@pytest.mark.parametrize("legacy", [False, True])
def test_md5_digest_is_bad_alg_even_with_legacy(db, scep_tester, legacy_scep_service, device_keys, legacy):
    tester = scep_tester(legacy_scep_service if legacy else None)
    device = Device.create(device_keys[0])
    sent = tester.pkcs_req(device)
    md5 = rewrite_signed_data(
        sent.der, lambda sd: sd["signer_infos"][0]["digest_algorithm"].__setitem__("algorithm", "md5")
    )
    result = tester.reply(sent, tester.send(md5))
    assert_refused(result, scep.FailInfo.BAD_ALG, requests=0)
    assert "MD5" in result.fail_info_text


def test_rsa_1024_key_is_bad_alg_by_policy(db, scep_client):
    key = weak_rsa_key()
    device = Device.create(key, "weak-key")
    sent = scep_client.pkcs_req(device)
    result = scep_client.exchange(sent)
    assert_refused(result, scep.FailInfo.BAD_ALG, requests=0)
    assert result.fail_info_text == "RSA key of 1024 bits is below the minimum of 2048"
    refusal_recorded(sent, scep.FailInfo.BAD_ALG)


def test_ec_signer_is_refused_before_anything_is_issued(transactional_db, scep_client):
    key = ec.generate_private_key(ec.SECP256R1())
    subject = name("ec-device")
    signer = scep.ScepIdentity(scep.self_signed_signer(key, subject), key)  # type: ignore[arg-type]
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(subject)
        .add_attribute(x509.oid.AttributeOID.CHALLENGE_PASSWORD, STATIC_CHALLENGE.encode())
        .sign(key, hashes.SHA256())
    )
    sent = scep_client.message(scep.MessageType.PKCS_REQ, csr, signer=signer)

    message = scep.parse_pki_message(scep_client.send(sent).content)

    assert message.pki_status is scep.PkiStatus.FAILURE
    assert message.fail_info is scep.FailInfo.BAD_ALG
    assert IssuedCertificate.objects.count() == 0
    assert CertificateRequest.objects.count() == 0


# --- badMessageCheck ----------------------------------------------------------------------------------------


def test_flipped_signature_byte_is_bad_message_check(db, scep_client, device_keys):
    device = Device.create(device_keys[0])
    sent = scep_client.pkcs_req(device)
    result = scep_client.reply(sent, scep_client.send(flip_signature(sent.der)))
    assert_refused(result, scep.FailInfo.BAD_MESSAGE_CHECK, requests=0)
    assert result.fail_info_text == "the signature does not verify with the signer certificate's key"
    assert ScepTransaction.objects.count() == 0


def test_message_digest_mismatch_is_bad_message_check(db, scep_client, device_keys):
    device = Device.create(device_keys[0])
    sent = scep_client.pkcs_req(device)
    other = scep_client.pkcs_req(device, device.csr(subject=name("swapped")))

    def swap_content(signed_data: schema.SignedData) -> None:
        replacement = schema.ContentInfo.load(other.der)["content"]["encap_content_info"]["content"]
        signed_data["encap_content_info"]["content"] = replacement.native

    result = scep_client.reply(sent, scep_client.send(rewrite_signed_data(sent.der, swap_content)))
    assert_refused(result, scep.FailInfo.BAD_MESSAGE_CHECK, requests=0)
    assert result.fail_info_text == "messageDigest attribute does not match the content"


@pytest.mark.parametrize("recipient", ["foreign", "issuing-ca"])
def test_envelope_to_another_certificate_is_bad_message_check(db, scep_client, pki, device_keys, recipient):
    certificate = (
        self_signed(device_keys[2], name("Foreign RA")) if recipient == "foreign" else pki.issuing.certificate
    )
    device = Device.create(device_keys[0])
    result = scep_client.exchange(scep_client.pkcs_req(device, recipient=certificate))
    assert_refused(result, scep.FailInfo.BAD_MESSAGE_CHECK, requests=0)
    assert "not encrypted to this server's RA certificate" in result.fail_info_text


def test_csr_with_an_invalid_self_signature_is_bad_message_check(db, scep_client, device_keys):
    device = Device.create(device_keys[0])
    request = asn1_csr.CertificationRequest.load(device.csr().public_bytes(Encoding.DER))
    signature = bytearray(request["signature"].native)
    signature[10] ^= 0x01
    request["signature"] = bytes(signature)
    sent = scep_client.message(scep.MessageType.PKCS_REQ, bytes(request.dump(force=True)), signer=device)
    result = scep_client.exchange(sent)
    assert_refused(result, scep.FailInfo.BAD_MESSAGE_CHECK, requests=0)
    assert result.fail_info_text == "the certificate request's self-signature is invalid"


@pytest.mark.parametrize(
    "message_type", [scep.MessageType.PKCS_REQ, scep.MessageType.RENEWAL_REQ, scep.MessageType.CERT_POLL]
)
def test_message_data_that_is_not_what_the_type_needs_is_bad_message_check(
    db, scep_client, device_keys, message_type
):
    """Undecodable content gets the same answer as undecryptable content (no padding oracle)."""
    device = Device.create(device_keys[0])
    result = scep_client.exchange(scep_client.message(message_type, b"\x04\x05hello", signer=device))
    assert_refused(result, scep.FailInfo.BAD_MESSAGE_CHECK, requests=0)
    assert result.fail_info_text == DECRYPTION_FAILED


# --- badTime ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("offset", [dt.timedelta(days=-2), dt.timedelta(days=2)])
def test_signing_time_too_far_off_is_bad_time(db, scep_client, device_keys, settings, offset):
    settings.CERTPORTAL_SCEP_MAX_CLOCK_SKEW = 3600
    device = Device.create(device_keys[0])
    sent = scep_client.pkcs_req(device, signing_time=dt.datetime.now(tz=dt.UTC) + offset)
    result = scep_client.exchange(sent)
    assert_refused(result, scep.FailInfo.BAD_TIME, requests=0)
    assert "away from the server's clock" in result.fail_info_text


def test_signing_time_within_the_skew_is_accepted(transactional_db, scep_client, device_keys, settings):
    settings.CERTPORTAL_SCEP_MAX_CLOCK_SKEW = 3600
    device = Device.create(device_keys[0])
    sent = scep_client.pkcs_req(device, signing_time=dt.datetime.now(tz=dt.UTC) - dt.timedelta(minutes=50))
    assert scep_client.exchange(sent).status is scep.PkiStatus.SUCCESS


def test_clock_skew_check_can_be_disabled(transactional_db, scep_client, device_keys, settings):
    settings.CERTPORTAL_SCEP_MAX_CLOCK_SKEW = 0
    device = Device.create(device_keys[0])
    sent = scep_client.pkcs_req(device, signing_time=dt.datetime.now(tz=dt.UTC) - dt.timedelta(days=2))
    assert scep_client.exchange(sent).status is scep.PkiStatus.SUCCESS


# --- malformed input: HTTP 400 ------------------------------------------------------------------------------


def _truncated(scep_client, device):
    der = scep_client.pkcs_req(device).der
    return der[: len(der) // 2]


def _garbage(scep_client, device):
    return b"GET / HTTP/1.0\r\n\r\n" * 10


def _enveloped_data(scep_client, device):
    return scep.encrypt_envelope(
        device.csr().public_bytes(Encoding.DER),
        recipient_certificate=scep_client.ra_certificate,
        cipher=scep.ContentCipher.AES128_CBC,
    )


def _degenerate(scep_client, device):
    return scep.build_degenerate([scep_client.ra_certificate])


def _no_transaction_id(scep_client, device):
    return without_attribute(scep_client.pkcs_req(device).der, OID_TRANSACTION_ID)


def _no_message_type(scep_client, device):
    return without_attribute(scep_client.pkcs_req(device).der, OID_MESSAGE_TYPE)


def _no_sender_nonce(scep_client, device):
    return without_attribute(scep_client.pkcs_req(device).der, OID_SENDER_NONCE)


def _no_signer_certificate(scep_client, device):
    def drop(signed_data: schema.SignedData) -> None:
        signed_data["certificates"] = []

    return rewrite_signed_data(scep_client.pkcs_req(device).der, drop)


def _certificate(scep_client, device):
    return device.signer.public_bytes(Encoding.DER)


MALFORMED = {
    "truncated": _truncated,
    "garbage": _garbage,
    "enveloped-data-at-top-level": _enveloped_data,
    "degenerate-signed-data": _degenerate,
    "no-transaction-id": _no_transaction_id,
    "no-message-type": _no_message_type,
    "no-sender-nonce": _no_sender_nonce,
    "no-signer-certificate": _no_signer_certificate,
    "a-certificate": _certificate,
}


@pytest.mark.parametrize("method", ["POST", "GET"])
@pytest.mark.parametrize("build", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_message_is_400_with_a_reason(db, scep_client, device_keys, build, method):
    device = Device.create(device_keys[0])
    response = scep_client.send(build(scep_client, device), method=method)
    assert response.status_code == 400
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    text = response.content.decode("utf-8")
    assert text.startswith("malformed SCEP message: ")
    assert len(text.removeprefix("malformed SCEP message: ").strip()) > 5
    assert "Traceback" not in text
    events = ConnectorEvent.objects.filter(event_id=EventId.SCEP_MALFORMED_REQUEST)
    assert events.count() == 1
    assert events.get().message == text.removeprefix("malformed SCEP message: ").strip()
    assert events.get().service_slug == scep_client.service.slug
    assert ScepTransaction.objects.count() == 0
    assert CertificateRequest.objects.count() == 0


def test_valid_base64_of_non_der_is_400(db, scep_client):
    response = scep_client.client.get(
        "/scep/strict", {"operation": "PKIOperation", "message": base64.b64encode(b"hello").decode()}
    )
    assert response.status_code == 400
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response.content.startswith(b"malformed SCEP message: ")
    assert ConnectorEvent.objects.filter(event_id=EventId.SCEP_MALFORMED_REQUEST).count() == 1


def test_message_over_the_size_limit_after_decoding_is_413(db, scep_client, device_keys, settings):
    """A GET message under the 414 bound but whose DER is over the limit is refused by the parser."""
    device = Device.create(device_keys[0])
    der = scep_client.pkcs_req(device).der
    settings.CERTPORTAL_SCEP_MAX_MESSAGE_SIZE = len(der) - 1
    response = scep_client.send(der, method="GET")
    assert response.status_code == 413
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert ConnectorEvent.objects.filter(event_id=EventId.SCEP_MALFORMED_REQUEST).count() == 1


def test_subject_is_escaped_when_recorded(db, scep_client, device_keys):
    """A subject with control characters is refused (wrong challenge) and recorded escaped."""
    device = Device.create(device_keys[0])
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "evil\x00\x1b[31mname")])
    sent = scep_client.pkcs_req(device, device.csr(challenge="wrong", subject=subject))
    result = scep_client.exchange(sent)
    assert_refused(result, scep.FailInfo.BAD_REQUEST)
    assert refusal_recorded(sent, scep.FailInfo.BAD_REQUEST).subject.startswith("CN=evil")


def test_get_cert_for_a_certificate_we_did_not_issue_is_bad_cert_id(db, scep_client, device_keys):
    """GetCert for the requester's own self-signed certificate: no CA of ours has that name."""
    device = Device.create(device_keys[0])
    sent = scep_client.message(
        scep.MessageType.GET_CERT,
        scep.build_issuer_and_serial(device.signer.issuer, device.signer.serial_number),
        signer=device,
    )
    result = scep_client.exchange(sent)
    assert_refused(result, scep.FailInfo.BAD_CERT_ID)
