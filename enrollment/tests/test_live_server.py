"""End to end over real HTTP: pytest-django's ``live_server`` (a threaded server on 127.0.0.1) with
micromdm's ``scepclient`` (Debian package ``scep``) and with our own ``scep.ScepClient``.

scepclient 2.1.0 encrypts with DES-CBC and signs with SHA-1 whatever GetCACaps says, so it enrols only
against the legacy service; with a PKCS#1 key, one directory per device, and ``-certificate`` present it
sends a RenewalReq (17).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding

from ca.models import CertificateRequest, IssuedCertificate
from ca.services.submission import certificate_request_approve
from ca.tests.pki import openssl, require_executable
from enrollment import scep
from enrollment.choices import TransactionStatus
from enrollment.models import ScepService, ScepTransaction
from enrollment.tests.fixtures import STATIC_CHALLENGE, Device, issued_row
from eventlog.choices import EventId
from eventlog.models import ConnectorEvent

os.environ.setdefault("DJANGO_LIVE_TEST_SERVER_ADDRESS", "127.0.0.1")

TIMEOUT = 60


def scepclient(
    url: str, device: Path, *, challenge: str = STATIC_CHALLENGE
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            require_executable("scepclient"),
            "-server-url", url,
            "-private-key", str(device / "key.pem"),
            "-certificate", str(device / "cert.pem"),
            "-challenge", challenge,
            "-cn", device.name,
            "-debug",
        ],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
        cwd=device,
    )  # fmt: skip


def new_device(tmp_path: Path, device_name: str) -> Path:
    device = tmp_path / device_name
    device.mkdir()
    openssl("genrsa", "-traditional", "-out", str(device / "key.pem"), "2048")
    return device


def verify(pki, tmp_path: Path, certificate_file: Path) -> None:
    chain = pki.chain_file(tmp_path)
    result = openssl("verify", "-CAfile", str(chain), "-purpose", "sslclient", str(certificate_file))
    assert result.stdout.strip() == f"{certificate_file}: OK"


def load(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


# --- micromdm scepclient ---------------------------------------------------------------------------------


@pytest.mark.external
def test_scepclient_enrols_and_renews_against_the_legacy_service(
    live_server, legacy_scep_service, pki, tmp_path
):
    require_executable("scepclient")
    url = f"{live_server.url}/scep/legacy"
    device = new_device(tmp_path, "dev1")

    enrolled = scepclient(url, device)

    assert enrolled.returncode == 0, enrolled.stdout + enrolled.stderr
    first = load(device / "cert.pem")
    verify(pki, tmp_path, device / "cert.pem")
    assert first.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value == "dev1"
    enrolment = ScepTransaction.objects.get(message_type=scep.MessageType.PKCS_REQ)
    assert enrolment.status == TransactionStatus.SUCCESS
    assert enrolment.certificate is not None
    assert enrolment.certificate.certificate == first

    renewed = scepclient(url, device)

    assert renewed.returncode == 0, renewed.stdout + renewed.stderr
    second = load(device / "cert.pem")
    assert second.serial_number != first.serial_number
    assert second.subject == first.subject
    verify(pki, tmp_path, device / "cert.pem")
    renewal = ScepTransaction.objects.get(message_type=scep.MessageType.RENEWAL_REQ)
    assert renewal.status == TransactionStatus.SUCCESS
    assert renewal.renewed_certificate is not None
    assert renewal.renewed_certificate.certificate == first
    assert renewal.certificate is not None
    assert renewal.certificate.certificate == second
    assert renewal.transaction_id == enrolment.transaction_id  # scepclient: base64(SHA-1(key))
    assert IssuedCertificate.objects.count() == 2


@pytest.mark.external
def test_scepclient_gets_bad_alg_from_the_strict_service(live_server, scep_service, tmp_path):
    require_executable("scepclient")
    device = new_device(tmp_path, "dev2")

    result = scepclient(f"{live_server.url}/scep/strict", device)

    assert result.returncode != 0
    assert "badAlg" in result.stdout + result.stderr
    assert not (device / "cert.pem").exists()
    assert IssuedCertificate.objects.count() == 0
    assert CertificateRequest.objects.count() == 0
    refusal = ConnectorEvent.objects.get(event_id=EventId.SCEP_VERIFY_FAILURE)
    assert refusal.fail_info == scep.FailInfo.BAD_ALG
    assert "legacy algorithms are disabled" in refusal.message


@pytest.mark.external
def test_scepclient_gets_bad_request_for_a_wrong_challenge(live_server, legacy_scep_service, tmp_path):
    require_executable("scepclient")
    device = new_device(tmp_path, "dev3")

    result = scepclient(f"{live_server.url}/scep/legacy", device, challenge="wrong-challenge")

    assert result.returncode != 0
    assert "badRequest" in result.stdout + result.stderr
    assert not (device / "cert.pem").exists()
    assert IssuedCertificate.objects.count() == 0
    assert ScepTransaction.objects.get().fail_info == scep.FailInfo.BAD_REQUEST
    assert (
        ConnectorEvent.objects.get(event_id=EventId.SCEP_VERIFY_FAILURE).fail_info
        == scep.FailInfo.BAD_REQUEST
    )


@pytest.mark.external
@pytest.mark.parametrize(
    "path", ["/certsrv/mscep/mscep.dll", "/certsrv/mscep/mscep.dll/pkiclient.exe", "/cgi-bin/pkiclient.exe"]
)
@pytest.mark.usefixtures("scep_service")
def test_scepclient_enrols_at_the_ndes_paths_of_the_default_service(
    live_server, legacy_scep_service, pki, tmp_path, path
):
    require_executable("scepclient")
    ScepService.objects.update(is_default=False)
    ScepService.objects.filter(pk=legacy_scep_service.pk).update(is_default=True)
    device = new_device(tmp_path, "ndes-device")

    result = scepclient(f"{live_server.url}{path}", device)

    assert result.returncode == 0, result.stdout + result.stderr
    verify(pki, tmp_path, device / "cert.pem")
    assert ScepTransaction.objects.get().service == legacy_scep_service


@pytest.mark.external
def test_scepclient_at_the_ndes_path_of_a_strict_default_gets_bad_alg(live_server, scep_service, tmp_path):
    require_executable("scepclient")
    device = new_device(tmp_path, "ndes-strict")
    result = scepclient(f"{live_server.url}/certsrv/mscep/mscep.dll", device)
    assert result.returncode != 0
    assert "badAlg" in result.stdout + result.stderr


# --- our own client -----------------------------------------------------------------------------------------


def pinned_client(live_server, pki, path: str = "/scep/strict") -> scep.ScepClient:
    return scep.ScepClient(
        f"{live_server.url}{path}",
        timeout=TIMEOUT,
        ca_fingerprint=pki.issuing.certificate.fingerprint(hashes.SHA256()),
    )


@pytest.mark.parametrize("method", ["POST", "GET"])
@pytest.mark.usefixtures("scep_service")
def test_scep_client_enrols_with_aes_256_and_sha_512(live_server, pki, device_keys, tmp_path, method):
    client = pinned_client(live_server, pki)
    caps = client.get_ca_caps()
    assert {"AES", "SHA-512", "POSTPKIOperation"} <= set(caps)
    assert "DES3" not in caps
    certificates = client.get_ca_cert()
    assert certificates[-1] == pki.issuing.certificate
    recipient = scep.select_recipient(certificates)
    assert recipient == ScepService.objects.get(slug="strict").registration_authority.certificate
    device = Device.create(device_keys[0])
    nonce = os.urandom(16)
    tid = scep.transaction_id_for(device.key.public_key())
    der = scep.build_pki_message(
        message_type=scep.MessageType.PKCS_REQ,
        transaction_id=tid,
        sender_nonce=nonce,
        message_data=device.csr().public_bytes(Encoding.DER),
        recipient_certificate=recipient,
        signer_certificate=device.signer,
        signer_key=device.key,
        cipher=scep.ContentCipher.AES256_CBC,
        digest=scep.DigestAlgorithm.SHA512,
    )

    reply = client.pki_operation(der, method=method)

    result = scep.parse_cert_rep(
        reply,
        signer_key=device.key,
        signer_certificate=device.signer,
        expected_recipient_nonce=nonce,
        ra_certificate=certificates,
        expected_transaction_id=tid,
    )
    assert result.status is scep.PkiStatus.SUCCESS
    assert result.cipher is scep.ContentCipher.AES256_CBC
    assert result.message.digest_algorithm is scep.DigestAlgorithm.SHA512
    assert result.certificate == issued_row(result).certificate
    path = tmp_path / "issued.pem"
    path.write_bytes(result.certificate.public_bytes(Encoding.PEM))
    verify(pki, tmp_path, path)


def test_scep_client_full_cycle(live_server, scep_service, pki, device_keys):
    """enroll (PKCSReq), get_cert, get_crl, renew (RenewalReq) with the client's own algorithm choice."""
    client = pinned_client(live_server, pki)
    device = Device.create(device_keys[0])

    enrolled = client.enroll(device.csr(), device.key, signer=device.identity)
    assert enrolled.status is scep.PkiStatus.SUCCESS
    certificate = enrolled.certificate
    assert certificate is not None
    assert enrolled.cipher is scep.ContentCipher.AES128_CBC

    fetched = client.get_cert(certificate.serial_number, signer=device.identity)
    assert fetched.certificates == (certificate,)
    crl = client.get_crl(certificate, signer=device.identity).crl
    assert crl is not None
    assert crl.issuer == pki.issuing.certificate.subject

    new_key = device_keys[1]
    renewed = client.renew(
        Device.create(new_key).csr(challenge=None), current=scep.ScepIdentity(certificate, device.key)
    )
    assert renewed.status is scep.PkiStatus.SUCCESS
    assert renewed.certificate is not None
    assert renewed.certificate.public_key() == new_key.public_key()
    assert renewed.certificate.subject == certificate.subject
    renewed_row = ScepTransaction.objects.get(message_type=17).renewed_certificate
    assert renewed_row is not None
    assert renewed_row.certificate == certificate


def test_scep_client_polls_a_pending_enrolment(live_server, scep_service, pki, device_keys):
    pki.template.requires_approval = True
    pki.template.save()
    client = pinned_client(live_server, pki)
    device = Device.create(device_keys[0])
    csr = device.csr()

    pending = client.enroll(csr, device.key, signer=device.identity)
    assert pending.status is scep.PkiStatus.PENDING
    certificate_request_approve(request=CertificateRequest.objects.get(), actor="ca-manager")

    done = client.poll(csr, signer=device.identity, transaction_id=pending.transaction_id)
    assert done.status is scep.PkiStatus.SUCCESS
    assert done.certificate == IssuedCertificate.objects.get().certificate


def test_scep_client_at_the_ndes_path(live_server, scep_service, pki, device_keys):
    client = pinned_client(live_server, pki, "/certsrv/mscep/mscep.dll")
    device = Device.create(device_keys[0])
    result = client.enroll(device.csr(), device.key)
    assert result.status is scep.PkiStatus.SUCCESS
    assert ScepTransaction.objects.get().service == scep_service


def test_scep_client_gets_next_ca_cert_during_rollover(
    live_server, scep_service, next_registration_authority, pki
):
    scep_service.next_registration_authority = next_registration_authority
    scep_service.save()
    client = pinned_client(live_server, pki)
    assert "GetNextCACert" in client.get_ca_caps()
    assert client.get_next_ca_cert()[0] == next_registration_authority.certificate
