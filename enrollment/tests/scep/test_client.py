"""Our ScepClient against the library-only test server, over real HTTP on 127.0.0.1."""

import base64
import os
import socket

import pytest

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from enrollment.scep import (
    CertRepResult,
    ContentCipher,
    DigestAlgorithm,
    FailInfo,
    MessageType,
    PkiStatus,
    ScepClient,
    ScepClientError,
    ScepIdentity,
    build_csr,
    build_pki_message,
    self_signed_signer,
)

from .pki import make_ca, make_ra, name, rsa_key
from .server import ScepTestServer


@pytest.fixture
def server(ca, ra):
    return ScepTestServer(ca=ca, ra=ra)


@pytest.fixture
def url(server):
    with server.serve() as url:
        yield url


def issued(result: CertRepResult) -> x509.Certificate:
    """The issued certificate of a SUCCESS reply."""
    assert result.status is PkiStatus.SUCCESS, result
    assert result.certificate is not None
    return result.certificate


@pytest.fixture(scope="module")
def device_key():
    return rsa_key()


def test_get_ca_caps(url):
    assert ScepClient(url).get_ca_caps() == [
        "POSTPKIOperation",
        "SHA-256",
        "SHA-384",
        "SHA-512",
        "AES",
        "SCEPStandard",
        "Renewal",
    ]


def test_get_ca_cert_ra_mode(url, ca, ra):
    assert ScepClient(url).get_ca_cert() == [ra.certificate, ca.certificate]


def test_get_ca_cert_single_ca_mode(ca, device_key):
    server = ScepTestServer(ca=ca, ra=ca, single_ca=True)
    with server.serve() as url:
        client = ScepClient(url)
        assert client.get_ca_cert() == [ca.certificate]
        result = client.enroll(build_csr(device_key, name("single"), challenge_password="s3cret"), device_key)
    assert result.status is PkiStatus.SUCCESS


def test_enroll(url, server, ca, device_key):
    csr = build_csr(device_key, name("device-7"), challenge_password="s3cret")
    result = ScepClient(url).enroll(csr, device_key)
    assert result.status is PkiStatus.SUCCESS
    assert issued(result).subject == name("device-7")
    assert issued(result).public_key() == device_key.public_key()
    issued(result).verify_directly_issued_by(ca.certificate)
    assert result.certificates[1] == ca.certificate
    assert result.cipher is ContentCipher.AES128_CBC
    request = server.requests[-1]
    assert request.message_type == MessageType.PKCS_REQ
    assert request.digest_algorithm is DigestAlgorithm.SHA256


def test_wrong_challenge_is_a_failure_with_text(url, device_key):
    csr = build_csr(device_key, name("device-8"), challenge_password="wrong")
    result = ScepClient(url).enroll(csr, device_key)
    assert result.status is PkiStatus.FAILURE
    assert result.fail_info is FailInfo.BAD_REQUEST
    assert result.fail_info_text == "wrong or missing challengePassword"
    assert result.certificate is None


def test_renew(url, server, device_key):
    client = ScepClient(url)
    first = client.enroll(build_csr(device_key, name("device-9"), challenge_password="s3cret"), device_key)
    new_key = rsa_key()
    renewed = client.renew(
        build_csr(new_key, name("device-9")), current=ScepIdentity(issued(first), device_key)
    )
    assert renewed.status is PkiStatus.SUCCESS
    assert issued(renewed).public_key() == new_key.public_key()
    assert issued(renewed).serial_number != issued(first).serial_number
    request = server.requests[-1]
    assert request.message_type == MessageType.RENEWAL_REQ
    assert request.signer_certificate == issued(first)


def test_renewal_signed_by_a_stranger_fails(url, device_key):
    stranger = self_signed_signer(device_key, name("stranger"))
    result = ScepClient(url).renew(
        build_csr(device_key, name("x")), current=ScepIdentity(stranger, device_key)
    )
    assert result.status is PkiStatus.FAILURE
    assert result.fail_info is FailInfo.BAD_REQUEST


def test_pending_then_poll(server, device_key):
    server.pending = True
    with server.serve() as url:
        client = ScepClient(url)
        csr = build_csr(device_key, name("device-10"), challenge_password="s3cret")
        signer = ScepIdentity(self_signed_signer(device_key, csr.subject), device_key)
        pending = client.enroll(csr, device_key, signer=signer)
        assert pending.status is PkiStatus.PENDING
        result = client.poll(csr, signer=signer, transaction_id=pending.transaction_id)
        assert result.status is PkiStatus.SUCCESS
        assert issued(result).subject == name("device-10")
        assert server.requests[-1].message_type == MessageType.CERT_POLL
        # The pending entry is gone: polling again is badCertId.
        again = client.poll(csr, signer=signer, transaction_id=pending.transaction_id)
    assert again.fail_info is FailInfo.BAD_CERT_ID


def test_get_cert_and_get_crl(url, device_key):
    client = ScepClient(url)
    enrolled = client.enroll(
        build_csr(device_key, name("device-11"), challenge_password="s3cret"), device_key
    )
    identity = ScepIdentity(issued(enrolled), device_key)
    fetched = client.get_cert(issued(enrolled).serial_number, signer=identity)
    assert fetched.certificate == issued(enrolled)
    missing = client.get_cert(12345, signer=identity)
    assert missing.fail_info is FailInfo.BAD_CERT_ID
    crl = client.get_crl(issued(enrolled), signer=identity)
    assert crl.status is PkiStatus.SUCCESS
    assert crl.crl is not None
    assert crl.crl.issuer == issued(enrolled).issuer


def test_pki_operation_by_get_with_escaped_base64(url, server, ra, device_key):
    signer = self_signed_signer(device_key, name("get"))
    csr = build_csr(device_key, name("get"), challenge_password="s3cret")
    der = build_pki_message(
        message_type=MessageType.PKCS_REQ,
        transaction_id="get",
        sender_nonce=os.urandom(16),
        message_data=csr.public_bytes(serialization.Encoding.DER),
        recipient_certificate=ra.certificate,
        signer_certificate=signer,
        signer_key=device_key,
        cipher=ContentCipher.AES128_CBC,
        digest=DigestAlgorithm.SHA256,
    )
    encoded = base64.b64encode(der)
    assert b"+" in encoded
    assert b"/" in encoded  # both must survive the query string
    reply = ScepClient(url).pki_operation(der, method="GET")
    assert server.requests[-1].raw == der
    assert server.replies[-1] == (PkiStatus.SUCCESS, None)
    assert reply[:1] == b"\x30"


def test_get_next_ca_cert(ca, ra):
    new_ca = make_ca("next CA")
    rollover = [new_ca.certificate, make_ra(new_ca, "next RA").certificate]
    server = ScepTestServer(ca=ca, ra=ra, next_ca=rollover)
    with server.serve() as url:
        client = ScepClient(url)
        assert "GetNextCACert" in client.get_ca_caps()
        assert client.get_next_ca_cert() == rollover


def test_get_next_ca_cert_without_rollover_is_an_error(url):
    with pytest.raises(ScepClientError, match="HTTP 404"):
        ScepClient(url).get_next_ca_cert()


def test_ca_fingerprint_pins_the_ca(url, ca, ra, foreign_ra):
    pinned = ScepClient(url, ca_fingerprint=ca.certificate.fingerprint(hashes.SHA256()))
    assert pinned.get_ca_cert() == [ra.certificate, ca.certificate]
    with pytest.raises(ScepClientError, match="fingerprint"):
        ScepClient(url, ca_fingerprint=foreign_ra.certificate.fingerprint(hashes.SHA256())).get_ca_cert()


def test_ca_fingerprint_drops_an_ra_the_ca_did_not_issue(ca, foreign_ra):
    server = ScepTestServer(ca=ca, ra=foreign_ra)  # GetCACert: [foreign RA, our CA]
    with server.serve() as url:
        client = ScepClient(url, ca_fingerprint=ca.certificate.fingerprint(hashes.SHA256()))
        assert client.get_ca_cert() == [ca.certificate]
        assert ScepClient(url).get_ca_cert() == [foreign_ra.certificate, ca.certificate]


def test_garbage_pki_operation_surfaces_the_http_400(url):
    with pytest.raises(ScepClientError, match="HTTP 400 not a valid CMS SignedData"):
        ScepClient(url).pki_operation(b"hello")


def test_unreachable_server_is_a_client_error():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(ScepClientError):
        ScepClient(f"http://127.0.0.1:{port}/scep", timeout=5).get_ca_cert()


def test_only_http_urls():
    with pytest.raises(ValueError, match="http or https"):
        ScepClient("file:///etc/passwd")
