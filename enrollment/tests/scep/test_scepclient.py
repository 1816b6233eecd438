"""Interop with a real client: micromdm's scepclient (Debian package ``scep``) against the test server.

scepclient 2.1.0 encrypts with DES-CBC and signs with SHA-1 whatever GetCACaps says, so it enrols only when
legacy algorithms are allowed; with them off it must get a CertRep FAILURE/badAlg, not an HTTP error.
It needs a PKCS#1 key (``openssl genrsa -traditional``) and one directory per device (it writes csr.pem and
self.pem next to the key). With an existing ``-certificate`` it sends RenewalReq (17).
"""

import subprocess
from pathlib import Path

import pytest

from cryptography import x509

from enrollment.scep import AlgorithmPolicy, ContentCipher, DigestAlgorithm, FailInfo, MessageType, PkiStatus

from .pki import PROCESS_TIMEOUT, Identity, openssl, pem, require_executable
from .server import ScepTestServer

pytestmark = pytest.mark.external

SCEPCLIENT = "/usr/bin/scepclient"


def scepclient(url: str, device: Path, *, challenge: str = "s3cret") -> subprocess.CompletedProcess[str]:
    """One scepclient run for the device directory ``device`` (key.pem, cert.pem)."""
    return subprocess.run(
        [
            require_executable(SCEPCLIENT),
            "-server-url", url,
            "-private-key", str(device / "key.pem"),
            "-certificate", str(device / "cert.pem"),
            "-challenge", challenge,
            "-cn", device.name,
            "-debug",
        ],
        capture_output=True,
        text=True,
        timeout=PROCESS_TIMEOUT,
        check=False,
    )  # fmt: skip


def new_device(tmp_path: Path, device_name: str) -> Path:
    device = tmp_path / device_name
    device.mkdir()
    openssl("genrsa", "-traditional", "-out", device / "key.pem", "2048")
    return device


@pytest.fixture
def ca_file(tmp_path: Path, ca: Identity) -> Path:
    path = tmp_path / "ca.pem"
    path.write_bytes(pem(ca.certificate))
    return path


def test_scepclient_enrolls_and_renews_with_legacy_allowed(tmp_path, ca, ra, ca_file):
    server = ScepTestServer(ca=ca, ra=ra, policy=AlgorithmPolicy(allow_legacy=True))
    device = new_device(tmp_path, "dev1")
    with server.serve() as url:
        enrolled = scepclient(url, device)
        assert enrolled.returncode == 0, enrolled.stdout + enrolled.stderr
        first = x509.load_pem_x509_certificate((device / "cert.pem").read_bytes())
        renewed = scepclient(url, device)
        assert renewed.returncode == 0, renewed.stdout + renewed.stderr
        second = x509.load_pem_x509_certificate((device / "cert.pem").read_bytes())

    # What it sent: PKCSReq then RenewalReq, both DES-CBC + SHA-1, encrypted to the RA (and the CA).
    assert [request.message_type for request in server.requests] == [
        MessageType.PKCS_REQ,
        MessageType.RENEWAL_REQ,
    ]
    assert server.ciphers == [ContentCipher.DES_CBC, ContentCipher.DES_CBC]
    assert {request.digest_algorithm for request in server.requests} == {DigestAlgorithm.SHA1}
    assert server.requests[0].signer_certificate.subject != first.subject  # its self-signed "SCEP SIGNER"
    assert server.requests[1].signer_certificate == first  # renewal signed by the issued certificate
    assert server.replies == [(PkiStatus.SUCCESS, None), (PkiStatus.SUCCESS, None)]

    assert first.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value == "dev1"
    assert second.serial_number != first.serial_number
    assert second.public_key() == first.public_key()
    for certificate in (first, second):
        path = tmp_path / f"{certificate.serial_number}.pem"
        path.write_bytes(pem(certificate))
        assert openssl("verify", "-CAfile", ca_file, path).strip().endswith(b": OK")


def test_scepclient_gets_bad_alg_with_legacy_off(tmp_path, ca, ra):
    server = ScepTestServer(ca=ca, ra=ra, policy=AlgorithmPolicy())
    device = new_device(tmp_path, "dev2")
    with server.serve() as url:
        result = scepclient(url, device)
    assert result.returncode != 0
    assert "failInfo: badAlg" in result.stdout + result.stderr
    assert server.replies == [(PkiStatus.FAILURE, FailInfo.BAD_ALG)]
    assert not (device / "cert.pem").exists()


def test_scepclient_gets_bad_request_for_a_wrong_challenge(tmp_path, ca, ra):
    server = ScepTestServer(ca=ca, ra=ra, policy=AlgorithmPolicy(allow_legacy=True))
    device = new_device(tmp_path, "dev3")
    with server.serve() as url:
        result = scepclient(url, device, challenge="wrong")
    assert result.returncode != 0
    assert "failInfo: badRequest" in result.stdout + result.stderr
    assert server.replies == [(PkiStatus.FAILURE, FailInfo.BAD_REQUEST)]
    assert not server.issued


@pytest.mark.parametrize("reply_cipher", [ContentCipher.AES128_CBC, ContentCipher.AES256_CBC])
def test_scepclient_accepts_an_aes_reply_to_its_des_request(tmp_path, ca, ra, ca_file, reply_cipher):
    """A server need not answer DES with DES (reference: never answer with DES)."""
    server = ScepTestServer(
        ca=ca, ra=ra, policy=AlgorithmPolicy(allow_legacy=True), reply_cipher=reply_cipher
    )
    device = new_device(tmp_path, "dev4")
    with server.serve() as url:
        result = scepclient(url, device)
    assert result.returncode == 0, result.stdout + result.stderr
    assert server.ciphers == [ContentCipher.DES_CBC]
    assert openssl("verify", "-CAfile", ca_file, device / "cert.pem").strip().endswith(b": OK")
