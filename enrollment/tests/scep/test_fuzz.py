"""Hostile input: only ScepError subclasses may escape the library, whatever the bytes."""

import contextlib
import os
import random
from dataclasses import dataclass

import pytest

from asn1crypto import core
from cryptography.hazmat.primitives import hashes, serialization

from enrollment.scep import (
    MAX_MESSAGE_BYTES,
    AlgorithmPolicy,
    ContentCipher,
    DigestAlgorithm,
    MalformedMessage,
    MessageType,
    PkiStatus,
    ScepError,
    build_cert_rep,
    build_csr,
    build_pki_message,
    challenge_password,
    check_csr_key_matches_signer,
    check_message_type,
    decrypt_envelope,
    parse_cert_rep,
    parse_csr,
    parse_degenerate,
    parse_issuer_and_serial,
    parse_issuer_and_subject,
    parse_pki_message,
    schema,
    verify_pki_message,
)

from .pki import issue, name
from .tamper import rewrite_signed_data

LEGACY = AlgorithmPolicy(allow_legacy=True)


@pytest.fixture(scope="module")
def pki_request(ra, requester):
    csr = build_csr(requester.key, name("fuzz"), challenge_password="s3cret")
    return build_pki_message(
        message_type=MessageType.PKCS_REQ,
        transaction_id="fuzz",
        sender_nonce=os.urandom(16),
        message_data=csr.public_bytes(serialization.Encoding.DER),
        recipient_certificate=ra.certificate,
        signer_certificate=requester.certificate,
        signer_key=requester.key,
        cipher=ContentCipher.DES3_CBC,
        digest=DigestAlgorithm.SHA256,
    )


@pytest.fixture(scope="module")
def cert_rep(ca, ra, requester):
    csr = build_csr(requester.key, name("fuzz"))
    return build_cert_rep(
        transaction_id="fuzz",
        recipient_nonce=b"n" * 16,
        status=PkiStatus.SUCCESS,
        signer_certificate=ra.certificate,
        signer_key=ra.key,
        digest=DigestAlgorithm.SHA256,
        recipient_certificate=requester.certificate,
        cipher=ContentCipher.AES128_CBC,
        certificates=[issue(ca, csr), ca.certificate],
    )


@dataclass(frozen=True)
class Accepted:
    """What the server side read from a message it accepted: everything that decides what is issued."""

    transaction_id: str
    message_type: int | None
    sender_nonce: bytes
    csr_der: bytes
    challenge: str | None


def server_pipeline(der, ra) -> Accepted | ScepError:
    """What a SCEP server runs on a PKIOperation body, up to the challenge: what it accepted, or the
    ScepError that refused it (any other exception escapes and fails the test).
    """
    try:
        message = parse_pki_message(der)
        check_message_type(message)
        verify_pki_message(message, policy=LEGACY)
        plaintext, _ = decrypt_envelope(
            message.envelope or b"", recipient_key=ra.key, recipient_certificate=ra.certificate, policy=LEGACY
        )
        csr = parse_csr(plaintext)
        return Accepted(
            transaction_id=message.transaction_id,
            message_type=message.message_type,
            sender_nonce=message.sender_nonce,
            csr_der=csr.public_bytes(serialization.Encoding.DER),
            challenge=challenge_password(csr),
        )
    except ScepError as refused:
        return refused


def client_pipeline(der, ra, requester):
    """What a client reads from a CertRep (status and certificates), or the ScepError that refused it."""
    try:
        result = parse_cert_rep(
            der,
            signer_key=requester.key,
            signer_certificate=requester.certificate,
            expected_recipient_nonce=b"n" * 16,
            ra_certificate=ra.certificate,
        )
    except ScepError as refused:
        return refused
    return (result.status, tuple(c.fingerprint(hashes.SHA256()) for c in result.certificates))


def content_parsers(der, ra):
    for parser in (parse_degenerate, parse_issuer_and_subject, parse_issuer_and_serial, parse_csr):
        with contextlib.suppress(ScepError):
            parser(der)
    with contextlib.suppress(ScepError):
        decrypt_envelope(der, recipient_key=ra.key, recipient_certificate=ra.certificate, policy=LEGACY)


def test_valid_request_passes_the_pipeline(ra, requester, pki_request):
    accepted = server_pipeline(pki_request, ra)
    assert isinstance(accepted, Accepted), accepted
    assert (accepted.transaction_id, accepted.message_type, accepted.challenge) == (
        "fuzz",
        MessageType.PKCS_REQ,
        "s3cret",
    )
    csr = parse_csr(accepted.csr_der)
    assert csr.subject == name("fuzz")
    assert csr.public_key() == requester.key.public_key()


def test_valid_cert_rep_passes_the_client(ra, requester, cert_rep, ca):
    status, fingerprints = client_pipeline(cert_rep, ra, requester)
    assert status is PkiStatus.SUCCESS
    assert fingerprints[-1] == ca.certificate.fingerprint(hashes.SHA256())


def test_truncated_at_every_97th_byte(ra, requester, pki_request, cert_rep):
    for der in (pki_request, cert_rep):
        for end in range(0, len(der), 97):
            assert isinstance(server_pipeline(der[:end], ra), ScepError), end
            assert isinstance(client_pipeline(der[:end], ra, requester), ScepError), end
            content_parsers(der[:end], ra)


@pytest.mark.parametrize("mask", [0x01, 0x80, 0xFF])
def test_flipped_bytes_are_refused_or_change_nothing_that_is_signed(
    ra, requester, pki_request, cert_rep, mask
):
    """A flipped byte is refused, unless it lies outside what the signature covers (the certificates
    field, digestAlgorithms): then what the server reads is exactly what was signed. Most flips are refused.
    """
    original_request = server_pipeline(pki_request, ra)
    original_reply = client_pipeline(cert_rep, ra, requester)
    refused = total = 0
    for index in range(0, len(pki_request), 13):
        damaged = bytearray(pki_request)
        damaged[index] ^= mask
        outcome = server_pipeline(bytes(damaged), ra)
        total += 1
        refused += isinstance(outcome, ScepError)
        assert isinstance(outcome, ScepError) or outcome == original_request, index
    for index in range(0, len(cert_rep), 13):
        damaged = bytearray(cert_rep)
        damaged[index] ^= mask
        outcome = client_pipeline(bytes(damaged), ra, requester)
        total += 1
        refused += isinstance(outcome, ScepError)
        assert isinstance(outcome, ScepError) or outcome == original_reply, index
    assert refused >= total * 0.6, (refused, total)


def test_a_flip_in_the_signed_attributes_or_the_envelope_is_always_refused(ra, pki_request):
    content_info = schema.ContentInfo.load(pki_request)
    signed_data = content_info["content"]
    signed_region = signed_data["signer_infos"][0]["signed_attrs"].dump()
    envelope = bytes(signed_data["encap_content_info"]["content"].native)
    for region in (signed_region, envelope):
        start = pki_request.index(region)
        for index in range(start, start + len(region), 7):
            damaged = bytearray(pki_request)
            damaged[index] ^= 0x01
            assert isinstance(server_pipeline(bytes(damaged), ra), ScepError), index


def test_random_garbage(ra, requester):
    rng = random.Random(8894)  # noqa: S311 (reproducible fuzzing, not crypto)
    for _ in range(300):
        length = rng.choice([1, 2, 3, 8, 64, 500, 4000])
        prefix = rng.choice(
            [b"", b"\x30", b"\x30\x80", b"\x30\x82", b"\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x07\x02"]
        )
        der = prefix + rng.randbytes(length)
        assert isinstance(server_pipeline(der, ra), ScepError)
        assert isinstance(client_pipeline(der, ra, requester), ScepError)
        content_parsers(der, ra)


def test_random_splices_of_valid_messages(ra, requester, pki_request, cert_rep):
    rng = random.Random(2026)  # noqa: S311
    for _ in range(200):
        first, second = rng.sample([pki_request, cert_rep], 2)
        cut_a, cut_b = rng.randrange(len(first)), rng.randrange(len(second))
        der = first[:cut_a] + second[cut_b:]
        if der not in (pki_request, cert_rep):
            assert isinstance(server_pipeline(der, ra), ScepError)
            assert isinstance(client_pipeline(der, ra, requester), ScepError)


def nested_definite(depth: int) -> bytes:
    inner = b""
    for _ in range(depth):
        length = len(inner)
        if length < 0x80:
            header = bytes([0x30, length])
        else:
            size = (length.bit_length() + 7) // 8
            header = bytes([0x30, 0x80 | size]) + length.to_bytes(size, "big")
        inner = header + inner
    return inner


@pytest.mark.parametrize(
    "der",
    [
        b"\x30\x80" * 50_000,
        b"\x30\x80" * 100 + b"\x00\x00" * 100,
        b"\xa0\x80" * 10_000,
        b"\x24\x80" + b"\x04\x01A" * 10_000 + b"\x00\x00",
        nested_definite(2_000),
        nested_definite(30_000),
        b"\x30\x84\xff\xff\xff\xff",
        b"\x30\x89" + b"\xff" * 9,
        b"\x06\x8f\xff\xff\xff\xff\xff\xff\xff\x7f",
        b"\x02\x84\x00\x01\x00\x00" + b"\x01" * 65536,
    ],
    ids=[
        "indefinite",
        "indefinite-closed",
        "tagged-indefinite",
        "chunked-octets",
        "nested-2k",
        "nested-30k",
        "huge-length",
        "overlong-length",
        "oid-length",
        "big-integer",
    ],
)
def test_deep_nesting_and_odd_lengths(ra, requester, der):
    assert len(der) <= MAX_MESSAGE_BYTES
    assert isinstance(server_pipeline(der, ra), ScepError)
    assert isinstance(client_pipeline(der, ra, requester), ScepError)
    content_parsers(der, ra)


def with_extra_attributes(der: bytes, count: int) -> bytes:
    content_info = schema.ContentInfo.load(der)
    signer = content_info["content"]["signer_infos"][0]
    extra = b"".join(
        schema.Attribute({"type": f"1.3.6.1.4.1.99999.{index}", "values": [core.Null()]}).dump()
        for index in range(count)
    )
    signer["signed_attrs"] = schema.Attributes(contents=signer["signed_attrs"].contents + extra)
    return bytes(content_info.dump(force=True))


def test_huge_set_of_signed_attributes_is_malformed(ra, pki_request):
    der = with_extra_attributes(pki_request, 12_000)
    assert len(der) <= MAX_MESSAGE_BYTES
    with pytest.raises(MalformedMessage, match="more than 64 signed attributes"):
        parse_pki_message(der)


def test_a_few_unknown_signed_attributes_are_ignored(ra, pki_request):
    message = parse_pki_message(with_extra_attributes(pki_request, 50))
    assert message.transaction_id == "fuzz"
    assert len(message.signed_content.attributes) == 56


def test_too_many_certificates_is_malformed(ra, requester, pki_request):
    def add_certificates(signed_data):
        signed_data["certificates"] = [signed_data["certificates"][0].copy() for _ in range(40)]

    with pytest.raises(MalformedMessage, match="more than 32 certificates"):
        parse_pki_message(rewrite_signed_data(pki_request, add_certificates))


def test_oversized_input_is_refused_before_parsing(ra):
    with pytest.raises(ScepError):
        parse_pki_message(b"\x30\x80" * (MAX_MESSAGE_BYTES // 2 + 1))


def csr_pipeline(plaintext, requester):
    with contextlib.suppress(ScepError):
        csr = parse_csr(plaintext)
        challenge_password(csr)
        check_csr_key_matches_signer(csr, requester.certificate)


def test_damaged_csrs(requester):
    der = build_csr(requester.key, name("fuzz"), challenge_password="s3cret").public_bytes(
        serialization.Encoding.DER
    )
    for index in range(len(der)):
        csr_pipeline(der[:index], requester)
        for mask in (0x01, 0x80):
            damaged = bytearray(der)
            damaged[index] ^= mask
            csr_pipeline(bytes(damaged), requester)
