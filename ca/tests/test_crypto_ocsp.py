"""ca.crypto.ocsp: reading requests, our CertID hashes, signed and error responses (no database)."""

from __future__ import annotations

import base64
import datetime as dt

import pytest

from asn1crypto import ocsp as asn1_ocsp
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509 import ocsp
from cryptography.x509.oid import ObjectIdentifier

from ca.crypto.builders import CaCertificateSpec, build_ca_certificate
from ca.crypto.ocsp import (
    MAX_REQUEST_SIZE,
    CertificateStatus,
    OcspRequestError,
    build_error_response,
    build_responder_csr,
    build_response,
    decode_get_request,
    generate_responder_key,
    issuer_hashes,
    load_responder_key,
    parse_request,
    responder_key_encrypt,
)
from ca.tests.ocsp import ocsp_request

NOW = dt.datetime(2026, 3, 1, 12, 0, 0, tzinfo=dt.UTC)
MALFORMED = ocsp.OCSPResponseStatus.MALFORMED_REQUEST


@pytest.fixture(scope="module")
def ec_chain():
    """An EC root and an EC issuing CA."""
    root_key, issuing_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP384R1())
    root = build_ca_certificate(
        CaCertificateSpec(
            subject=x509.Name.from_rfc4514_string("CN=EC Root,O=certportal tests"),
            public_key=root_key.public_key(),
            serial=1,
            not_before=NOW - dt.timedelta(days=1),
            not_after=NOW + dt.timedelta(days=365),
        ),
        signing_key=root_key,
    )
    issuing = build_ca_certificate(
        CaCertificateSpec(
            subject=x509.Name.from_rfc4514_string("CN=EC Issuing,O=certportal tests"),
            public_key=issuing_key.public_key(),
            serial=2,
            not_before=NOW - dt.timedelta(days=1),
            not_after=NOW + dt.timedelta(days=300),
            issuer_certificate=root,
        ),
        signing_key=root_key,
    )
    return root, issuing


@pytest.mark.parametrize(
    "algorithm",
    [hashes.SHA1(), hashes.SHA256(), hashes.SHA384(), hashes.SHA512()],  # noqa: S303 - what clients send
)
def test_issuer_hashes_are_those_a_client_computes(crypto_chain, ec_chain, algorithm):
    """cryptography's request builder hashes the leaf's issuer field and the issuer's key: same result."""
    for root, issuing in ((crypto_chain.root, crypto_chain.issuing), ec_chain):
        query = parse_request(ocsp_request(issuing, root, algorithm=algorithm))
        assert issuer_hashes(root, algorithm) == (query.issuer_name_hash, query.issuer_key_hash)
        assert issuer_hashes(issuing, algorithm) != (query.issuer_name_hash, query.issuer_key_hash)


def test_parse_reads_the_cert_id_and_the_nonce(crypto_chain):
    query = parse_request(ocsp_request(crypto_chain.issuing, crypto_chain.root, nonce=b"n" * 32))
    assert query.serial == crypto_chain.issuing.serial_number
    assert isinstance(query.hash_algorithm, hashes.SHA1)
    assert query.nonce == b"n" * 32
    assert parse_request(ocsp_request(crypto_chain.issuing, crypto_chain.root)).nonce is None


@pytest.mark.parametrize("length", [1, 16, 32])
def test_nonces_of_1_to_32_octets_are_accepted(crypto_chain, length):
    assert parse_request(ocsp_request(crypto_chain.issuing, crypto_chain.root, nonce=b"x" * length)).nonce


@pytest.mark.parametrize("length", [0, 33, 128])
def test_empty_and_over_32_octet_nonces_are_malformed(crypto_chain, length):
    """RFC 8954 2.1: a server MUST reject a nonce of 0 or more than 32 octets with malformedRequest."""
    with pytest.raises(OcspRequestError, match="nonce") as info:
        parse_request(ocsp_request(crypto_chain.issuing, crypto_chain.root, nonce=b"x" * length))
    assert info.value.status == MALFORMED


def test_a_critical_unknown_extension_is_malformed_a_non_critical_one_ignored(crypto_chain):
    def request(critical: bool) -> bytes:
        builder = ocsp.OCSPRequestBuilder().add_certificate(
            crypto_chain.issuing,
            crypto_chain.root,
            hashes.SHA1(),  # noqa: S303
        )
        builder = builder.add_extension(
            x509.UnrecognizedExtension(ObjectIdentifier("1.3.6.1.4.1.55555.1"), b"\x05\x00"),
            critical=critical,
        )
        return builder.build().public_bytes(serialization.Encoding.DER)

    assert parse_request(request(critical=False)).serial == crypto_chain.issuing.serial_number
    with pytest.raises(OcspRequestError, match="critical") as info:
        parse_request(request(critical=True))
    assert info.value.status == MALFORMED


def _asn1_request(*cert_ids: dict[str, object]) -> bytes:
    """An OCSPRequest built with asn1crypto: what cryptography's builder cannot make (two CertIDs, MD5)."""
    der: bytes = asn1_ocsp.OCSPRequest(
        {"tbs_request": {"request_list": [{"req_cert": cert_id} for cert_id in cert_ids]}}
    ).dump()
    return der


def test_a_request_list_of_two_is_malformed(crypto_chain):
    query = parse_request(ocsp_request(crypto_chain.issuing, crypto_chain.root))
    cert_id = {
        "hash_algorithm": {"algorithm": "sha1"},
        "issuer_name_hash": query.issuer_name_hash,
        "issuer_key_hash": query.issuer_key_hash,
        "serial_number": query.serial,
    }
    assert parse_request(_asn1_request(cert_id)).serial == query.serial
    with pytest.raises(OcspRequestError) as info:
        parse_request(_asn1_request(cert_id, {**cert_id, "serial_number": 7}))
    assert info.value.status == MALFORMED


def test_a_cert_id_hashed_with_md5_is_unauthorized():
    """We cannot tell whether an MD5 CertID names our issuer: not ours to answer."""
    request = _asn1_request(
        {
            "hash_algorithm": {"algorithm": "md5"},
            "issuer_name_hash": b"\x01" * 16,
            "issuer_key_hash": b"\x02" * 16,
            "serial_number": 5,
        }
    )
    with pytest.raises(OcspRequestError) as info:
        parse_request(request)
    assert info.value.status == ocsp.OCSPResponseStatus.UNAUTHORIZED


@pytest.mark.parametrize(
    "der",
    [
        b"",
        b"garbage",
        b"\x30\x03\x02\x01\x01",
        b"\x30" + b"\x82\xff\xff",
        b"\x30\x00",
        b"\x00" * (MAX_REQUEST_SIZE + 1),
    ],
    ids=["empty", "garbage", "wrong-structure", "truncated", "empty-sequence", "oversized"],
)
def test_unreadable_requests_are_malformed(der):
    with pytest.raises(OcspRequestError) as info:
        parse_request(der)
    assert info.value.status == MALFORMED


def test_a_tampered_request_is_malformed(crypto_chain):
    der = bytearray(ocsp_request(crypto_chain.issuing, crypto_chain.root))
    der[1] ^= 0x01  # the outer length no longer matches
    with pytest.raises(OcspRequestError):
        parse_request(bytes(der))
    with pytest.raises(OcspRequestError):
        parse_request(bytes(der[:-3]))


def test_get_path_decoding_tolerates_what_clients_and_proxies_do(crypto_chain):
    der = ocsp_request(crypto_chain.issuing, crypto_chain.root, nonce=b"\xfb\xff" * 8)
    standard = base64.b64encode(der).decode()
    assert "+" in standard or "/" in standard
    assert decode_get_request(standard) == der
    assert decode_get_request("/" + standard) == der  # an AIA URL with a trailing slash, then "/"
    assert decode_get_request(standard.replace("+", " ")) == der  # an unescaped "+" read as a space
    assert decode_get_request(base64.urlsafe_b64encode(der).decode()) == der
    assert decode_get_request(standard.rstrip("=")) == der
    for bad in ("", "/", "not base64!", "%2F%2B", "A" * (MAX_REQUEST_SIZE * 2)):
        with pytest.raises(OcspRequestError):
            decode_get_request(bad)


def _responder(crypto_chain, key):
    """A responder certificate for ``key`` signed by the crypto chain's issuing CA."""
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name.from_rfc4514_string("CN=Crypto Issuing OCSP Responder"))
        .issuer_name(crypto_chain.issuing.subject)
        .public_key(key.public_key())
        .serial_number(99)
        .not_valid_before(NOW - dt.timedelta(days=1))
        .not_valid_after(NOW + dt.timedelta(days=7))
        .sign(crypto_chain.issuing_key, hashes.SHA256())
    )


@pytest.mark.parametrize("key_type", ["RSA", "EC"])
def test_build_response_echoes_the_cert_id_and_nonce_and_verifies(crypto_chain, rsa2048_key, key_type):
    key = rsa2048_key if key_type == "RSA" else ec.generate_private_key(ec.SECP256R1())
    responder = _responder(crypto_chain, key)
    query = parse_request(
        ocsp_request(crypto_chain.issuing, crypto_chain.root, algorithm=hashes.SHA256(), nonce=b"abc")
    )
    response = build_response(
        query=query,
        status=CertificateStatus.good(),
        responder_certificate=responder,
        responder_key=key,
        this_update=NOW,
        next_update=NOW + dt.timedelta(hours=1),
    )
    parsed = ocsp.load_der_ocsp_response(response.public_bytes(serialization.Encoding.DER))
    assert parsed.response_status == ocsp.OCSPResponseStatus.SUCCESSFUL
    assert parsed.certificate_status == ocsp.OCSPCertStatus.GOOD
    assert (parsed.serial_number, parsed.issuer_name_hash, parsed.issuer_key_hash) == (
        query.serial,
        query.issuer_name_hash,
        query.issuer_key_hash,
    )
    assert isinstance(parsed.hash_algorithm, hashes.SHA256)
    assert (parsed.this_update_utc, parsed.next_update_utc) == (NOW, NOW + dt.timedelta(hours=1))
    assert parsed.certificates == [responder]
    assert parsed.responder_key_hash == x509.SubjectKeyIdentifier.from_public_key(key.public_key()).digest
    assert parsed.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce == b"abc"
    public = responder.public_key()
    if isinstance(public, rsa.RSAPublicKey):
        public.verify(parsed.signature, parsed.tbs_response_bytes, padding.PKCS1v15(), hashes.SHA256())
    else:
        assert isinstance(public, ec.EllipticCurvePublicKey)
        public.verify(parsed.signature, parsed.tbs_response_bytes, ec.ECDSA(hashes.SHA256()))


def test_revoked_carries_time_and_reason_but_not_unspecified(crypto_chain, rsa2048_key):
    responder = _responder(crypto_chain, rsa2048_key)
    query = parse_request(ocsp_request(crypto_chain.issuing, crypto_chain.root))
    revoked_at = NOW - dt.timedelta(minutes=3)

    def answer(reason: x509.ReasonFlags) -> ocsp.OCSPResponse:
        return build_response(
            query=query,
            status=CertificateStatus.revoked(revoked_at=revoked_at, reason=reason),
            responder_certificate=responder,
            responder_key=rsa2048_key,
            this_update=NOW,
            next_update=NOW + dt.timedelta(hours=1),
        )

    compromised = answer(x509.ReasonFlags.key_compromise)
    assert compromised.certificate_status == ocsp.OCSPCertStatus.REVOKED
    assert compromised.revocation_time_utc == revoked_at
    assert compromised.revocation_reason == x509.ReasonFlags.key_compromise
    assert answer(x509.ReasonFlags.unspecified).revocation_reason is None  # as our CRLs (RFC 5280 5.3.1)
    assert not list(compromised.extensions)  # no nonce asked, none sent


@pytest.mark.parametrize(
    "status",
    [
        ocsp.OCSPResponseStatus.MALFORMED_REQUEST,
        ocsp.OCSPResponseStatus.UNAUTHORIZED,
        ocsp.OCSPResponseStatus.TRY_LATER,
        ocsp.OCSPResponseStatus.INTERNAL_ERROR,
    ],
)
def test_error_responses_are_bare_statuses(status):
    der = build_error_response(status).public_bytes(serialization.Encoding.DER)
    assert der == bytes([0x30, 0x03, 0x0A, 0x01, status.value])
    assert ocsp.load_der_ocsp_response(der).response_status == status


@pytest.mark.parametrize(
    ("key_type", "kind"), [("RSA", rsa.RSAPrivateKey), ("EC", ec.EllipticCurvePrivateKey)]
)
def test_responder_keys_follow_the_ca_type_and_are_encrypted(key_type, kind):
    key = generate_responder_key(key_type)
    assert isinstance(key, kind)
    if isinstance(key, rsa.RSAPrivateKey):
        assert key.key_size == 2048
    else:
        assert isinstance(key.curve, ec.SECP256R1)
    pem = responder_key_encrypt(key, b"ocsp secret")
    assert pem.startswith("-----BEGIN ENCRYPTED PRIVATE KEY-----")
    assert load_responder_key(pem, b"ocsp secret").private_numbers() == key.private_numbers()
    for wrong in (b"wrong", b""):
        with pytest.raises(ValueError, match=r"."):
            load_responder_key(pem, wrong)
    with pytest.raises(ValueError, match="passphrase"):
        responder_key_encrypt(key, b"")
    csr = build_responder_csr(key=key, subject=x509.Name.from_rfc4514_string("CN=r"))
    assert csr.is_signature_valid
    assert csr.public_key() == key.public_key()
    with pytest.raises(ValueError, match="unsupported"):
        generate_responder_key("DSA")
