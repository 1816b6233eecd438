import itertools
import os

import pytest

from asn1crypto import core
from cryptography.hazmat.primitives import serialization

from enrollment.scep import (
    AlgorithmPolicy,
    ContentCipher,
    DigestAlgorithm,
    FailInfo,
    MalformedMessage,
    MessageType,
    PkiStatus,
    ScepFailure,
    build_cert_rep,
    build_csr,
    build_pki_message,
    parse_cert_rep,
    parse_pki_message,
    schema,
)
from enrollment.scep.constants import (
    OID_CONTENT_TYPE,
    OID_FAIL_INFO,
    OID_FAIL_INFO_TEXT,
    OID_MESSAGE_DIGEST,
    OID_MESSAGE_TYPE,
    OID_PKI_STATUS,
    OID_RECIPIENT_NONCE,
    OID_SENDER_NONCE,
    OID_SIGNING_TIME,
    OID_TRANSACTION_ID,
)
from enrollment.scep.message import scep_attributes
from enrollment.scep.signeddata import sign_signed_data

from .pki import issue, make_crl, name
from .tamper import flip_signature

NONCE = bytes(range(16))
SIGNING_DIGESTS = [
    DigestAlgorithm.SHA1,
    DigestAlgorithm.SHA256,
    DigestAlgorithm.SHA384,
    DigestAlgorithm.SHA512,
]
LEGACY = AlgorithmPolicy(allow_legacy=True)


@pytest.fixture(scope="module")
def issued(ca, requester):
    return issue(ca, build_csr(requester.key, name("device-1")))


def cert_rep(ra, status, **kwargs):
    return build_cert_rep(
        transaction_id=kwargs.pop("transaction_id", "tid-1"),
        recipient_nonce=kwargs.pop("recipient_nonce", NONCE),
        status=status,
        signer_certificate=ra.certificate,
        signer_key=ra.key,
        digest=kwargs.pop("digest", DigestAlgorithm.SHA256),
        **kwargs,
    )


def read(der, ra, requester, policy=LEGACY, **kwargs):
    return parse_cert_rep(
        der,
        signer_key=requester.key,
        signer_certificate=requester.certificate,
        expected_recipient_nonce=kwargs.pop("nonce", NONCE),
        ra_certificate=kwargs.pop("ra_certificate", ra.certificate),
        policy=policy,
        **kwargs,
    )


@pytest.mark.parametrize(
    "case",
    list(itertools.product(ContentCipher, SIGNING_DIGESTS)),
    ids=lambda case: "-".join(member.name for member in case),
)
def test_success_round_trip(ca, ra, requester, issued, case):
    cipher, digest = case
    der = cert_rep(
        ra,
        PkiStatus.SUCCESS,
        digest=digest,
        recipient_certificate=requester.certificate,
        cipher=cipher,
        certificates=[issued, ca.certificate],
        extra_certificates=[ca.certificate],
    )
    result = read(der, ra, requester, expected_transaction_id="tid-1")
    assert result.status is PkiStatus.SUCCESS
    assert result.certificate == issued
    assert result.certificates == (issued, ca.certificate)
    assert result.cipher is cipher
    assert result.fail_info is None
    assert result.crl is None
    assert result.message.digest_algorithm is digest
    assert result.message.certificates == (ra.certificate, ca.certificate)


def test_success_attributes(ca, ra, requester, issued):
    der = cert_rep(
        ra,
        PkiStatus.SUCCESS,
        recipient_certificate=requester.certificate,
        cipher=ContentCipher.AES128_CBC,
        certificates=[issued],
    )
    message = parse_pki_message(der)
    attributes = message.signed_content.attributes
    assert set(attributes) == {
        OID_CONTENT_TYPE,
        OID_SIGNING_TIME,
        OID_MESSAGE_DIGEST,
        OID_MESSAGE_TYPE,
        OID_PKI_STATUS,
        OID_TRANSACTION_ID,
        OID_SENDER_NONCE,
        OID_RECIPIENT_NONCE,
    }
    assert message.message_type == MessageType.CERT_REP
    assert core.load(attributes[OID_MESSAGE_TYPE][0]) == core.PrintableString("3")
    assert core.load(attributes[OID_PKI_STATUS][0]) == core.PrintableString("0")
    assert message.recipient_nonce == NONCE
    assert len(message.sender_nonce) == 16
    assert message.sender_nonce != NONCE
    assert parse_pki_message(cert_rep(ra, PkiStatus.PENDING)).sender_nonce != message.sender_nonce


@pytest.mark.parametrize("digest", SIGNING_DIGESTS)
@pytest.mark.parametrize("fail_info", list(FailInfo))
def test_failure_round_trip(ra, requester, fail_info, digest):
    text = f"because {fail_info.rfc_name} ✓"
    der = cert_rep(ra, PkiStatus.FAILURE, fail_info=fail_info, fail_info_text=text, digest=digest)
    result = read(der, ra, requester)
    assert result.status is PkiStatus.FAILURE
    assert result.fail_info is fail_info
    assert result.fail_info_text == f"because {fail_info.rfc_name} ✓"
    assert result.certificates == ()
    assert result.message.envelope is None
    attributes = result.message.signed_content.attributes
    assert core.load(attributes[OID_FAIL_INFO][0]) == core.PrintableString(str(int(fail_info)))
    assert isinstance(core.load(attributes[OID_FAIL_INFO_TEXT][0]), core.UTF8String)


def test_failure_without_text(ra, requester):
    result = read(cert_rep(ra, PkiStatus.FAILURE, fail_info=FailInfo.BAD_REQUEST), ra, requester)
    assert result.fail_info is FailInfo.BAD_REQUEST
    assert result.fail_info_text is None
    assert OID_FAIL_INFO_TEXT not in result.message.signed_content.attributes


@pytest.mark.parametrize("digest", SIGNING_DIGESTS)
def test_pending_round_trip(ra, requester, digest):
    result = read(cert_rep(ra, PkiStatus.PENDING, digest=digest), ra, requester)
    assert result.message.digest_algorithm is digest
    assert result.status is PkiStatus.PENDING
    assert result.fail_info is None
    assert result.message.envelope is None
    assert OID_FAIL_INFO not in result.message.signed_content.attributes


@pytest.mark.parametrize("status", [PkiStatus.FAILURE, PkiStatus.PENDING])
def test_failure_and_pending_carry_an_empty_econtent(ra, requester, status):
    """No pkcsPKIEnvelope (RFC 8894 §3.3.2.2, §3.3.2.3), but an eContent that is present and empty: an absent
    one is a detached signature (RFC 5652 §5.2), which OpenSSL's PKCS7_verify (certmonger) refuses."""
    fail_info = FailInfo.BAD_REQUEST if status is PkiStatus.FAILURE else None
    der = cert_rep(ra, status, fail_info=fail_info)
    encap = schema.ContentInfo.load(der)["content"]["encap_content_info"]
    assert encap["content_type"].dotted == "1.2.840.113549.1.7.1"
    assert encap["content"].dump() == b"\xa0\x02\x04\x00"  # [0] EXPLICIT OCTET STRING, zero length
    result = read(der, ra, requester)
    assert result.status is status
    assert result.message.signed_content.econtent == b""
    assert result.message.envelope is None


@pytest.mark.parametrize("status", [PkiStatus.FAILURE, PkiStatus.PENDING])
def test_client_reads_cert_reps_without_econtent(ra, requester, status):
    """What certportal sent before, and what other servers may send: no eContent at all."""
    attributes = scep_attributes(
        message_type=MessageType.CERT_REP,
        transaction_id="tid-1",
        sender_nonce=os.urandom(16),
        recipient_nonce=NONCE,
    )
    attributes.append((OID_PKI_STATUS, core.PrintableString(status.value)))
    if status is PkiStatus.FAILURE:
        attributes.append((OID_FAIL_INFO, core.PrintableString("2")))
    der = sign_signed_data(
        econtent=None,
        attributes=attributes,
        signer_certificate=ra.certificate,
        signer_key=ra.key,
        digest=DigestAlgorithm.SHA256,
    )
    result = read(der, ra, requester)
    assert result.status is status
    assert result.message.signed_content.econtent is None
    assert result.message.envelope is None


def test_get_crl_success_carries_the_crl(ca, ra, requester, issued):
    crl = make_crl(ca, [issued.serial_number])
    der = cert_rep(
        ra,
        PkiStatus.SUCCESS,
        recipient_certificate=requester.certificate,
        cipher=ContentCipher.AES256_CBC,
        crl=crl,
    )
    result = read(der, ra, requester)
    assert result.crl == crl
    assert result.certificates == ()


AES = ContentCipher.AES128_CBC
ARGUMENT_ERRORS = {
    "success-without-recipient": (PkiStatus.SUCCESS, lambda signer, issued: {"certificates": [issued]}),
    "success-without-content": (
        PkiStatus.SUCCESS,
        lambda signer, issued: {"recipient_certificate": signer, "cipher": AES},
    ),
    "success-without-cipher": (
        PkiStatus.SUCCESS,
        lambda signer, issued: {"recipient_certificate": signer, "certificates": [issued]},
    ),
    "success-with-fail-info": (
        PkiStatus.SUCCESS,
        lambda signer, issued: {
            "recipient_certificate": signer,
            "cipher": AES,
            "certificates": [issued],
            "fail_info": FailInfo.BAD_ALG,
        },
    ),
    "failure-without-fail-info": (PkiStatus.FAILURE, lambda signer, issued: {}),
    "failure-text-only": (PkiStatus.FAILURE, lambda signer, issued: {"fail_info_text": "no failInfo"}),
    "failure-with-certificates": (
        PkiStatus.FAILURE,
        lambda signer, issued: {"fail_info": FailInfo.BAD_ALG, "certificates": [issued]},
    ),
    "pending-with-fail-info": (PkiStatus.PENDING, lambda signer, issued: {"fail_info": FailInfo.BAD_REQUEST}),
    "pending-with-cipher": (PkiStatus.PENDING, lambda signer, issued: {"cipher": AES}),
}


@pytest.mark.parametrize("case", ARGUMENT_ERRORS.values(), ids=ARGUMENT_ERRORS.keys())
def test_arguments_must_fit_the_status(ra, requester, issued, case):
    status, arguments = case
    with pytest.raises(ValueError, match="CertRep"):
        cert_rep(ra, status, **arguments(requester.certificate, issued))


def test_md5_is_refused_for_signing(ra):
    with pytest.raises(ValueError, match="MD5"):
        cert_rep(ra, PkiStatus.PENDING, digest=DigestAlgorithm.MD5)


def test_success_to_a_non_rsa_signer_is_bad_alg(ra, ec_signer, issued):
    _, certificate = ec_signer
    with pytest.raises(ScepFailure) as failure:
        cert_rep(
            ra,
            PkiStatus.SUCCESS,
            recipient_certificate=certificate,
            cipher=ContentCipher.AES128_CBC,
            certificates=[issued],
        )
    assert failure.value.fail_info is FailInfo.BAD_ALG


def test_replayed_cert_rep_is_rejected_by_the_client(ra, requester):
    with pytest.raises(ScepFailure) as failure:
        read(cert_rep(ra, PkiStatus.PENDING), ra, requester, nonce=os.urandom(16))
    assert failure.value.fail_info is FailInfo.BAD_MESSAGE_CHECK
    assert "recipientNonce" in failure.value.text


def test_other_transaction_id_is_rejected_by_the_client(ra, requester):
    with pytest.raises(ScepFailure) as failure:
        read(cert_rep(ra, PkiStatus.PENDING), ra, requester, expected_transaction_id="other")
    assert failure.value.fail_info is FailInfo.BAD_MESSAGE_CHECK


def test_cert_rep_from_another_ra_is_rejected(ra, foreign_ra, requester):
    with pytest.raises(ScepFailure) as failure:
        read(cert_rep(foreign_ra, PkiStatus.PENDING), ra, requester)
    assert failure.value.fail_info is FailInfo.BAD_MESSAGE_CHECK
    assert "not signed by the CA/RA" in failure.value.text


def test_client_accepts_any_of_the_get_ca_cert_certificates(ca, ra, requester):
    result = read(
        cert_rep(ra, PkiStatus.PENDING), ra, requester, ra_certificate=[ca.certificate, ra.certificate]
    )
    assert result.status is PkiStatus.PENDING


def test_tampered_cert_rep_is_bad_message_check(ra, requester):
    with pytest.raises(ScepFailure) as failure:
        read(flip_signature(cert_rep(ra, PkiStatus.PENDING)), ra, requester)
    assert failure.value.fail_info is FailInfo.BAD_MESSAGE_CHECK


def test_sha1_cert_rep_refused_by_a_strict_client(ra, requester):
    with pytest.raises(ScepFailure) as failure:
        read(
            cert_rep(ra, PkiStatus.PENDING, digest=DigestAlgorithm.SHA1),
            ra,
            requester,
            policy=AlgorithmPolicy(),
        )
    assert failure.value.fail_info is FailInfo.BAD_ALG


def test_des_envelope_refused_by_a_strict_client(ra, requester, issued):
    der = cert_rep(
        ra,
        PkiStatus.SUCCESS,
        recipient_certificate=requester.certificate,
        cipher=ContentCipher.DES_CBC,
        certificates=[issued],
    )
    with pytest.raises(ScepFailure) as failure:
        read(der, ra, requester, policy=AlgorithmPolicy())
    assert failure.value.fail_info is FailInfo.BAD_ALG


def test_a_request_is_not_a_cert_rep(ra, requester):
    der = build_pki_message(
        message_type=MessageType.PKCS_REQ,
        transaction_id="t",
        sender_nonce=NONCE,
        message_data=b"x",
        recipient_certificate=requester.certificate,
        signer_certificate=ra.certificate,
        signer_key=ra.key,
        cipher=ContentCipher.AES128_CBC,
        digest=DigestAlgorithm.SHA256,
    )
    with pytest.raises(MalformedMessage, match="expected a CertRep"):
        read(der, ra, requester)


def test_issued_certificate_comes_first_even_when_der_sorting_would_move_it(ca, ra, requester, issued):
    chain = [issued, ca.certificate]
    encoded = sorted(cert.public_bytes(serialization.Encoding.DER) for cert in chain)
    order = chain if encoded[0] != chain[0].public_bytes(serialization.Encoding.DER) else chain[::-1]
    der = cert_rep(
        ra,
        PkiStatus.SUCCESS,
        recipient_certificate=requester.certificate,
        cipher=ContentCipher.AES128_CBC,
        certificates=order,
    )
    assert read(der, ra, requester).certificates == tuple(order)
