"""SignedData.digestAlgorithms (RFC 5652 §5.1) is parsed and checked, not read past.

The set is outside the signature, so a message whose set was altered still verifies unless the set is
checked: it must hold known digest algorithms (parameters absent or NULL) and the signer's digest.
Anything else is badMessageCheck; a set that does not decode is malformed (HTTP 400).
"""

import os

import pytest

from asn1crypto import algos, cms

from enrollment.scep import (
    ContentCipher,
    DigestAlgorithm,
    FailInfo,
    MalformedMessage,
    MessageType,
    ScepFailure,
    build_pki_message,
    parse_pki_message,
    schema,
    verify_pki_message,
)
from enrollment.scep.constants import MAX_DIGEST_ALGORITHMS

from .tamper import rewrite_signed_data


def request(ra, requester, digest=DigestAlgorithm.SHA256) -> bytes:
    return build_pki_message(
        message_type=MessageType.PKCS_REQ,
        transaction_id="tid-digests",
        sender_nonce=os.urandom(16),
        message_data=b"payload",
        recipient_certificate=ra.certificate,
        signer_certificate=requester.certificate,
        signer_key=requester.key,
        cipher=ContentCipher.AES128_CBC,
        digest=digest,
    )


def digest_set_span(der: bytes, digest: DigestAlgorithm = DigestAlgorithm.SHA256) -> tuple[int, int]:
    """Where the DER of SignedData.digestAlgorithms (SET OF one AlgorithmIdentifier) is in ``der``.

    It is the first occurrence: digestAlgorithms precedes the SignerInfo's own digestAlgorithm.
    """
    identifier = algos.DigestAlgorithm({"algorithm": digest.oid}).dump()
    set_der = bytes([0x31, len(identifier)]) + identifier
    start = der.index(set_der)
    assert der.index(identifier) == start + 2  # not the SignerInfo's
    return start, start + len(set_der)


def with_digest_set(der: bytes, oids: list[str]) -> bytes:
    def change(signed_data):
        signed_data["digest_algorithms"] = [{"algorithm": oid} for oid in oids]

    return rewrite_signed_data(der, change)


def test_an_untouched_message_verifies(ra, requester, strict):
    verify_pki_message(parse_pki_message(request(ra, requester)), policy=strict)


def test_every_single_bit_flip_in_digest_algorithms_is_refused(ra, requester, legacy):
    """Before the check, a flip in the OID (e.g. SHA-256 -> SHA-512, or an unknown OID) was read past and
    the message verified: the signature does not cover digestAlgorithms.
    """
    der = request(ra, requester)
    start, end = digest_set_span(der)
    outcomes: dict[str, int] = {}
    for index in range(start, end):
        for bit in range(8):
            flipped = bytearray(der)
            flipped[index] ^= 1 << bit
            try:
                message = parse_pki_message(bytes(flipped))
            except MalformedMessage:
                outcomes["malformed"] = outcomes.get("malformed", 0) + 1
                continue
            with pytest.raises(ScepFailure) as failure:
                verify_pki_message(message, policy=legacy)
            assert failure.value.fail_info is FailInfo.BAD_MESSAGE_CHECK, (index, bit, failure.value.text)
            outcomes["badMessageCheck"] = outcomes.get("badMessageCheck", 0) + 1
    assert outcomes["badMessageCheck"] > 0
    assert outcomes["malformed"] > 0
    assert sum(outcomes.values()) == (end - start) * 8


def test_sha256_flipped_to_sha512_is_bad_message_check(ra, requester, strict):
    der = bytearray(request(ra, requester))
    _, end = digest_set_span(bytes(der))
    assert der[end - 3] == 0x01  # the last arc of 2.16.840.1.101.3.4.2.1, before NULL (05 00)
    der[end - 3] = 0x03  # 2.16.840.1.101.3.4.2.3: SHA-512, a known digest but not the signer's
    message = parse_pki_message(bytes(der))
    assert message.signed_content.digest_algorithms == (DigestAlgorithm.SHA512.oid,)
    with pytest.raises(ScepFailure) as failure:
        verify_pki_message(message, policy=strict)
    assert failure.value.fail_info is FailInfo.BAD_MESSAGE_CHECK
    assert failure.value.text == (
        "the signer's digest algorithm SHA-256 is not among SignedData.digestAlgorithms"
    )


def test_an_unknown_algorithm_in_the_set_is_bad_message_check(ra, requester, strict):
    der = with_digest_set(request(ra, requester), [DigestAlgorithm.SHA256.oid, "1.2.3.4.5"])
    with pytest.raises(ScepFailure) as failure:
        verify_pki_message(parse_pki_message(der), policy=strict)
    assert failure.value.fail_info is FailInfo.BAD_MESSAGE_CHECK
    assert "1.2.3.4.5" in failure.value.text


def test_an_empty_set_is_bad_message_check(ra, requester, strict):
    der = with_digest_set(request(ra, requester), [])
    with pytest.raises(ScepFailure) as failure:
        verify_pki_message(parse_pki_message(der), policy=strict)
    assert failure.value.fail_info is FailInfo.BAD_MESSAGE_CHECK


def with_raw_digest_set(der: bytes, raw: bytes) -> bytes:
    """``der`` with SignedData.digestAlgorithms replaced by the DER ``raw``, as it is (not re-encoded)."""
    content_info = schema.ContentInfo.load(der)
    content_info["content"]["digest_algorithms"] = cms.DigestAlgorithms.load(raw)
    return bytes(content_info.dump())


SHA256_OID_DER = bytes.fromhex("0609608648016503040201")


def test_parameters_other_than_null_are_malformed(ra, requester):
    """asn1crypto's schema allows only absent or NULL parameters for a digest it knows (RFC 5754)."""
    identifier = bytes([0x30, len(SHA256_OID_DER) + 3]) + SHA256_OID_DER + b"\x04\x01x"
    der = with_raw_digest_set(request(ra, requester), bytes([0x31, len(identifier)]) + identifier)
    with pytest.raises(MalformedMessage, match="Null"):
        parse_pki_message(der)


def test_absent_parameters_and_other_known_digests_are_accepted(ra, requester, strict):
    """RFC 5754: SHA-2 parameters may be absent; the set may list more digests than the signer's."""
    sha1 = algos.DigestAlgorithm({"algorithm": DigestAlgorithm.SHA1.oid}).dump()
    sha256_bare = bytes([0x30, len(SHA256_OID_DER)]) + SHA256_OID_DER
    raw = bytes([0x31, len(sha1) + len(sha256_bare)]) + sha1 + sha256_bare
    der = with_raw_digest_set(request(ra, requester), raw)
    assert raw in der
    message = parse_pki_message(der)
    assert message.signed_content.digest_algorithms == (DigestAlgorithm.SHA1.oid, DigestAlgorithm.SHA256.oid)
    verify_pki_message(message, policy=strict)


def test_too_many_digest_algorithms_are_malformed(ra, requester):
    der = with_digest_set(request(ra, requester), [DigestAlgorithm.SHA256.oid] * (MAX_DIGEST_ALGORITHMS + 1))
    with pytest.raises(MalformedMessage, match="digest algorithms"):
        parse_pki_message(der)


def test_a_set_that_does_not_decode_is_malformed(ra, requester):
    der = bytearray(request(ra, requester))
    start, _ = digest_set_span(bytes(der))
    der[start + 2] = 0x04  # the AlgorithmIdentifier's SEQUENCE tag becomes an OCTET STRING
    with pytest.raises(MalformedMessage):
        parse_pki_message(bytes(der))
