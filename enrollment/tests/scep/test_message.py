import itertools
import os
from datetime import UTC, datetime, timedelta

import pytest

from asn1crypto import core
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from enrollment.scep import (
    MAX_MESSAGE_BYTES,
    AlgorithmPolicy,
    ContentCipher,
    DigestAlgorithm,
    FailInfo,
    MalformedMessage,
    MessageTooLarge,
    MessageType,
    ScepFailure,
    build_csr,
    build_issuer_and_serial,
    build_issuer_and_subject,
    build_pki_message,
    check_message_type,
    check_signing_time,
    decrypt_envelope,
    parse_csr,
    parse_issuer_and_serial,
    parse_issuer_and_subject,
    parse_pki_message,
    transaction_id_for,
    verify_pki_message,
)
from enrollment.scep.constants import (
    OID_MESSAGE_TYPE,
    OID_SENDER_NONCE,
    OID_TRANSACTION_ID,
)
from enrollment.scep.message import scep_attributes
from enrollment.scep.signeddata import sign_signed_data

from .pki import Identity, certificate, name
from .tamper import flip_signature, replace_attribute, rewrite_signed_data

SIGNING_DIGESTS = [
    DigestAlgorithm.SHA1,
    DigestAlgorithm.SHA256,
    DigestAlgorithm.SHA384,
    DigestAlgorithm.SHA512,
]


def request(
    ra,
    requester,
    *,
    message_type=MessageType.PKCS_REQ,
    data=None,
    cipher=ContentCipher.AES128_CBC,
    digest=DigestAlgorithm.SHA256,
    transaction_id="tid-1",
    nonce=None,
    **kwargs,
):
    return build_pki_message(
        message_type=message_type,
        transaction_id=transaction_id,
        sender_nonce=nonce or os.urandom(16),
        message_data=data if data is not None else b"payload",
        recipient_certificate=ra.certificate,
        signer_certificate=requester.certificate,
        signer_key=requester.key,
        cipher=cipher,
        digest=digest,
        **kwargs,
    )


def message_data(message_type, requester, ca):
    csr = build_csr(requester.key, name("device-1"), challenge_password="s3cret")
    if message_type in (MessageType.PKCS_REQ, MessageType.RENEWAL_REQ):
        return csr.public_bytes(serialization.Encoding.DER)
    if message_type is MessageType.CERT_POLL:
        return build_issuer_and_subject(ca.certificate.subject, csr.subject)
    return build_issuer_and_serial(ca.certificate.subject, 0x1234)


REQUEST_TYPES = [
    MessageType.PKCS_REQ,
    MessageType.RENEWAL_REQ,
    MessageType.CERT_POLL,
    MessageType.GET_CERT,
    MessageType.GET_CRL,
]


@pytest.mark.parametrize(
    "case",
    list(itertools.product(REQUEST_TYPES, SIGNING_DIGESTS, ContentCipher)),
    ids=lambda case: "-".join(member.name for member in case),
)
def test_request_round_trip(ca, ra, requester, legacy, case):
    message_type, digest, cipher = case
    data = message_data(message_type, requester, ca)
    nonce = os.urandom(16)
    der = request(
        ra, requester, message_type=message_type, data=data, cipher=cipher, digest=digest, nonce=nonce
    )

    message = parse_pki_message(der)
    assert check_message_type(message) is message_type
    verify_pki_message(message, policy=legacy)
    assert message.transaction_id == "tid-1"
    assert message.sender_nonce == nonce
    assert message.recipient_nonce is None
    assert message.digest_algorithm is digest
    assert message.signer_certificate == requester.certificate
    assert message.signing_time is not None
    assert abs(datetime.now(tz=UTC) - message.signing_time) < timedelta(minutes=1)
    assert message.envelope is not None
    plaintext, used = decrypt_envelope(
        message.envelope, recipient_key=ra.key, recipient_certificate=ra.certificate, policy=legacy
    )
    assert (plaintext, used) == (data, cipher)
    if message_type in (MessageType.PKCS_REQ, MessageType.RENEWAL_REQ):
        assert parse_csr(plaintext).subject == name("device-1")
    elif message_type is MessageType.CERT_POLL:
        assert parse_issuer_and_subject(plaintext) == (ca.certificate.subject, name("device-1"))
    else:
        assert parse_issuer_and_serial(plaintext) == (ca.certificate.subject, 0x1234)


def test_ecdsa_signed_request_verifies(ra, ec_signer, strict):
    key, certificate = ec_signer
    der = build_pki_message(
        message_type=MessageType.GET_CERT,
        transaction_id="ec",
        sender_nonce=os.urandom(16),
        message_data=b"x",
        recipient_certificate=ra.certificate,
        signer_certificate=certificate,
        signer_key=key,
        cipher=ContentCipher.AES128_CBC,
        digest=DigestAlgorithm.SHA384,
    )
    verify_pki_message(parse_pki_message(der), policy=strict)


@pytest.mark.parametrize("raw", ["3", "18", "0", "99", "1", "16", "23", "abc", "", "019", " 19", "19 "])
def test_check_message_type_rejects_everything_off_the_allow_list(ra, requester, raw):
    message = parse_pki_message(request(ra, requester, message_type=raw))
    assert message.message_type_raw == raw
    with pytest.raises(ScepFailure) as failure:
        check_message_type(message)
    assert failure.value.fail_info is FailInfo.BAD_REQUEST
    assert repr(raw) in failure.value.text


def test_sha1_signature_refused_without_legacy(ra, requester, strict, legacy):
    message = parse_pki_message(request(ra, requester, digest=DigestAlgorithm.SHA1))
    with pytest.raises(ScepFailure) as failure:
        verify_pki_message(message, policy=strict)
    assert failure.value.fail_info is FailInfo.BAD_ALG
    assert "SHA-1" in failure.value.text
    assert "legacy algorithms are disabled for this CA" in failure.value.text
    verify_pki_message(message, policy=legacy)


def test_md5_digest_is_never_accepted(ra, requester, legacy):
    der = rewrite_signed_data(
        request(ra, requester),
        lambda sd: sd["signer_infos"][0]["digest_algorithm"].__setitem__("algorithm", "md5"),
    )
    with pytest.raises(ScepFailure) as failure:
        verify_pki_message(parse_pki_message(der), policy=legacy)
    assert failure.value.fail_info is FailInfo.BAD_ALG
    assert "MD5" in failure.value.text


def test_unknown_digest_oid_is_kept_raw_and_refused(ra, requester, legacy):
    der = rewrite_signed_data(
        request(ra, requester),
        lambda sd: sd["signer_infos"][0]["digest_algorithm"].__setitem__("algorithm", "1.2.3.4.5"),
    )
    message = parse_pki_message(der)
    assert message.digest_algorithm == "1.2.3.4.5"
    with pytest.raises(ScepFailure) as failure:
        verify_pki_message(message, policy=legacy)
    assert failure.value.fail_info is FailInfo.BAD_ALG


@pytest.mark.parametrize(
    ("oid", "expected"),
    [
        ("1.2.840.113549.1.1.11", None),  # sha256WithRSAEncryption, matching the digest
        ("1.2.840.113549.1.1.5", FailInfo.BAD_ALG),  # sha1WithRSAEncryption, not the SHA-256 digest
        ("1.2.840.113549.1.1.10", FailInfo.BAD_ALG),  # RSASSA-PSS
        ("1.2.840.10045.4.3.2", FailInfo.BAD_ALG),  # ECDSA for an RSA key
    ],
)
def test_signature_algorithm_oids(ra, requester, strict, oid, expected):
    der = rewrite_signed_data(
        request(ra, requester),
        lambda sd: sd["signer_infos"][0].__setitem__("signature_algorithm", {"algorithm": oid}),
    )
    message = parse_pki_message(der)
    if expected is None:
        verify_pki_message(message, policy=strict)
        return
    with pytest.raises(ScepFailure) as failure:
        verify_pki_message(message, policy=strict)
    assert failure.value.fail_info is expected


def test_flipped_signature_byte_is_bad_message_check(ra, requester, strict):
    message = parse_pki_message(flip_signature(request(ra, requester)))
    with pytest.raises(ScepFailure) as failure:
        verify_pki_message(message, policy=strict)
    assert failure.value.fail_info is FailInfo.BAD_MESSAGE_CHECK
    assert "signature" in failure.value.text


def test_message_digest_mismatch_is_bad_message_check(ra, requester, strict):
    def swap_content(signed_data):
        signed_data["encap_content_info"]["content"] = b"other content"

    message = parse_pki_message(rewrite_signed_data(request(ra, requester), swap_content))
    with pytest.raises(ScepFailure) as failure:
        verify_pki_message(message, policy=strict)
    assert failure.value.fail_info is FailInfo.BAD_MESSAGE_CHECK
    assert "messageDigest" in failure.value.text


def test_signer_certificate_swapped_is_bad_message_check(ra, requester, strict):
    """A valid signature by another key under the claimed certificate's issuer and serial."""
    impostor = build_pki_message(
        message_type=MessageType.PKCS_REQ,
        transaction_id="t",
        sender_nonce=os.urandom(16),
        message_data=b"x",
        recipient_certificate=ra.certificate,
        signer_certificate=requester.certificate,
        signer_key=ra.key,
        cipher=ContentCipher.AES128_CBC,
        digest=DigestAlgorithm.SHA256,
    )
    with pytest.raises(ScepFailure) as failure:
        verify_pki_message(parse_pki_message(impostor), policy=strict)
    assert failure.value.fail_info is FailInfo.BAD_MESSAGE_CHECK


def test_content_type_attribute_mismatch_is_bad_message_check(ra, requester, strict):
    der = replace_attribute(
        request(ra, requester), "1.2.840.113549.1.9.3", core.ObjectIdentifier("1.2.840.113549.1.7.3")
    )
    with pytest.raises(ScepFailure) as failure:
        verify_pki_message(parse_pki_message(der), policy=strict)
    assert failure.value.fail_info is FailInfo.BAD_MESSAGE_CHECK


@pytest.mark.parametrize("oid", ["1.2.840.113549.1.9.3", "1.2.840.113549.1.9.4"])
def test_missing_content_type_or_message_digest_is_bad_message_check(ra, requester, strict, oid):
    message = parse_pki_message(replace_attribute(request(ra, requester), oid, None))
    with pytest.raises(ScepFailure) as failure:
        verify_pki_message(message, policy=strict)
    assert failure.value.fail_info is FailInfo.BAD_MESSAGE_CHECK
    assert "lack contentType or messageDigest" in failure.value.text


def test_signature_longer_than_the_modulus_is_bad_message_check(ra, requester, strict):
    def oversize(signed_data):
        signed_data["signer_infos"][0]["signature"] = b"\xff" * 300

    message = parse_pki_message(rewrite_signed_data(request(ra, requester), oversize))
    with pytest.raises(ScepFailure) as failure:
        verify_pki_message(message, policy=strict)
    assert failure.value.fail_info is FailInfo.BAD_MESSAGE_CHECK


def test_signing_time_skew_is_bad_time(ra, requester):
    yesterday = datetime.now(tz=UTC) - timedelta(days=1)
    message = parse_pki_message(request(ra, requester, signing_time=yesterday))
    assert message.signing_time == yesterday.replace(microsecond=0)
    check_signing_time(message, now=datetime.now(tz=UTC), max_skew=timedelta(days=2))
    with pytest.raises(ScepFailure) as failure:
        check_signing_time(message, now=datetime.now(tz=UTC), max_skew=timedelta(hours=1))
    assert failure.value.fail_info is FailInfo.BAD_TIME


@pytest.mark.parametrize("oid", [OID_MESSAGE_TYPE, OID_TRANSACTION_ID, OID_SENDER_NONCE])
def test_missing_scep_attribute_is_malformed(ra, requester, oid):
    with pytest.raises(MalformedMessage, match="attribute is missing"):
        parse_pki_message(replace_attribute(request(ra, requester), oid, None))


@pytest.mark.parametrize("length", [0, 7, 33, 1000])
def test_nonce_outside_8_to_32_bytes_is_malformed(ra, requester, length):
    der = replace_attribute(request(ra, requester), OID_SENDER_NONCE, core.OctetString(b"n" * length))
    with pytest.raises(MalformedMessage, match="senderNonce must be 8 to 32 bytes"):
        parse_pki_message(der)


@pytest.mark.parametrize("length", [8, 16, 32])
def test_nonce_of_8_to_32_bytes_is_accepted(ra, requester, length):
    der = replace_attribute(request(ra, requester), OID_SENDER_NONCE, core.OctetString(b"n" * length))
    assert parse_pki_message(der).sender_nonce == b"n" * length


@pytest.mark.parametrize("string_type", [core.PrintableString, core.UTF8String, core.IA5String])
def test_transaction_id_string_types_accepted(ra, requester, string_type):
    der = replace_attribute(
        request(ra, requester), OID_TRANSACTION_ID, string_type("erm3dBpJ2N7ikvWZk97INkwudGo=")
    )
    assert parse_pki_message(der).transaction_id == "erm3dBpJ2N7ikvWZk97INkwudGo="


@pytest.mark.parametrize(
    "value",
    [
        core.PrintableString(""),
        core.PrintableString("x" * 129),
        core.PrintableString("x" * 10_000),
        core.UTF8String("tab\there"),
        core.UTF8String("nul\x00"),
        core.UTF8String("ünïcode"),
        core.OctetString(b"bytes"),
        core.Integer(5),
    ],
)
def test_bad_transaction_ids_are_malformed(ra, requester, value):
    with pytest.raises(MalformedMessage, match="transactionID"):
        parse_pki_message(replace_attribute(request(ra, requester), OID_TRANSACTION_ID, value))


def test_transaction_id_of_128_printable_characters_is_accepted(ra, requester):
    tid = transaction_id_for(requester.key.public_key()) * 2
    assert len(tid) == 128
    assert parse_pki_message(request(ra, requester, transaction_id=tid)).transaction_id == tid


def test_transaction_id_outside_printable_string_charset_is_echoed_as_ia5(ra, requester):
    message = parse_pki_message(request(ra, requester, transaction_id="user@example_1"))
    assert message.transaction_id == "user@example_1"


def test_overlong_message_type_is_malformed(ra, requester):
    with pytest.raises(MalformedMessage, match="messageType is longer"):
        parse_pki_message(request(ra, requester, message_type="1" * 17))


def test_duplicate_attribute_is_malformed(ra, requester):
    def duplicate(signed_data):
        attributes = signed_data["signer_infos"][0]["signed_attrs"]
        attributes.append(attributes[0].copy())

    with pytest.raises(MalformedMessage, match="more than once"):
        parse_pki_message(rewrite_signed_data(request(ra, requester), duplicate))


def test_two_values_in_one_attribute_is_malformed(ra, requester):
    def two_values(signed_data):
        for attribute in signed_data["signer_infos"][0]["signed_attrs"]:
            if attribute["type"].dotted == OID_TRANSACTION_ID:
                attribute["values"] = [core.PrintableString("a"), core.PrintableString("b")]

    with pytest.raises(MalformedMessage, match="exactly one value"):
        parse_pki_message(rewrite_signed_data(request(ra, requester), two_values))


def test_missing_signer_certificate_is_malformed(ra, requester):
    der = rewrite_signed_data(request(ra, requester), lambda sd: sd.__setitem__("certificates", []))
    with pytest.raises(MalformedMessage, match="signer's certificate is not included"):
        parse_pki_message(der)
    # A client that knows the certificate out of band can still parse it.
    message = parse_pki_message(der, extra_certificates=[requester.certificate])
    assert message.signer_certificate == requester.certificate


@pytest.mark.parametrize("count", [0, 2])
def test_signer_info_count_other_than_one_is_malformed(ra, requester, count):
    def set_signers(signed_data):
        signer = signed_data["signer_infos"][0].copy()
        signed_data["signer_infos"] = [signer.copy() for _ in range(count)]

    with pytest.raises(MalformedMessage, match="exactly one SignerInfo"):
        parse_pki_message(rewrite_signed_data(request(ra, requester), set_signers))


def test_signer_identified_by_subject_key_identifier(ra, requester, strict):
    signer = Identity(certificate(subject=name("with-ski"), key=requester.key), requester.key)
    ski = signer.certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest

    def use_ski(signed_data):
        info = signed_data["signer_infos"][0]
        info["version"] = "v3"
        info["sid"] = {"subject_key_identifier": ski}

    message = parse_pki_message(rewrite_signed_data(request(ra, signer), use_ski))
    assert message.signer_certificate == signer.certificate
    verify_pki_message(message, policy=strict)


def test_request_without_signed_attributes_is_malformed(ra, requester):
    der = rewrite_signed_data(
        request(ra, requester), lambda sd: sd["signer_infos"][0].__setitem__("signed_attrs", None)
    )
    with pytest.raises(MalformedMessage, match="no signed attributes"):
        parse_pki_message(der)


def test_econtent_type_other_than_data_is_malformed(ra, requester):
    der = rewrite_signed_data(
        request(ra, requester),
        lambda sd: sd["encap_content_info"].__setitem__("content_type", "1.2.840.113549.1.7.3"),
    )
    with pytest.raises(MalformedMessage, match="not id-data"):
        parse_pki_message(der)


def test_message_without_envelope_parses_with_envelope_none(requester):
    der = sign_signed_data(
        econtent=None,
        attributes=scep_attributes(message_type=19, transaction_id="t", sender_nonce=os.urandom(16)),
        signer_certificate=requester.certificate,
        signer_key=requester.key,
        digest=DigestAlgorithm.SHA256,
    )
    message = parse_pki_message(der)
    assert message.envelope is None
    verify_pki_message(message, policy=AlgorithmPolicy())


def test_size_limit(ra, requester):
    der = request(ra, requester)
    with pytest.raises(MessageTooLarge) as too_large:
        parse_pki_message(der, max_size=len(der) - 1)
    assert too_large.value.size == len(der)
    assert parse_pki_message(der, max_size=len(der)).raw == der
    with pytest.raises(MessageTooLarge):
        parse_pki_message(b"\x30" * (MAX_MESSAGE_BYTES + 1))
