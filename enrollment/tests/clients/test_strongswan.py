"""strongSwan's ``pki --scep`` (Debian ``strongswan-pki`` 5.9.8) against a SCEP service without legacy
algorithms, over HTTPS (how pki is made to trust the front door's CA: ``strongswan.py``): enroll, a DNS SAN,
renewal signed by the old certificate (RenewalReq), a refusal, and a request approved while pki polls.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from ca.choices import CertificateRequestStatus
from ca.models import CertificateRequest, IssuedCertificate
from ca.services.submission import certificate_request_approve
from ca.tests.fixtures import Pki
from ca.tests.pki import openssl_verify, write_pem
from enrollment import scep
from enrollment.choices import TransactionStatus
from enrollment.models import ScepTransaction
from enrollment.tests.clients.certmonger import wait_until
from enrollment.tests.clients.conftest import CLIENTS_CHALLENGE
from enrollment.tests.clients.strongswan import ScepCa, key_file, scep_ca
from eventlog.choices import EventId
from eventlog.models import ConnectorEvent

pytestmark = pytest.mark.external

SUBJECT = "CN=sw-device,O=certportal tests"


@pytest.fixture
def service_certificates(clients_url: str, clients_tls_cafile: Path, tmp_path: Path) -> ScepCa:
    """``pki --scepca`` over HTTPS: the CA chain and the RA certificate in ``tmp_path / "scep"``."""
    return scep_ca(clients_url, tmp_path / "scep", trust=clients_tls_cafile)


def new_key(path: Path) -> Path:
    return key_file(rsa.generate_private_key(public_exponent=65537, key_size=2048), path)


def issued_from(result: subprocess.CompletedProcess[str]) -> x509.Certificate:
    assert result.returncode == 0, result.stdout + result.stderr
    return x509.load_pem_x509_certificate(result.stdout.encode())


def test_strongswan_enrolls(service_certificates: ScepCa, pki: Pki, tmp_path: Path) -> None:
    certificate = issued_from(
        service_certificates.enroll(
            new_key(tmp_path / "key.pem"), subject=SUBJECT, challenge=CLIENTS_CHALLENGE
        )
    )

    assert certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "sw-device"
    openssl_verify(tmp_path, certificate, pki.issuing.certificate, pki.root.certificate)
    transaction = ScepTransaction.objects.get()
    assert (transaction.message_type, transaction.status) == (
        scep.MessageType.PKCS_REQ,
        TransactionStatus.SUCCESS,
    )
    assert transaction.certificate is not None
    assert transaction.certificate.certificate == certificate
    assert not transaction.service.allow_legacy_algorithms


def test_strongswan_requests_a_dns_name(service_certificates: ScepCa, pki: Pki, tmp_path: Path) -> None:
    # The challenge (32 characters) encodes longer than this SAN: the request's attributes are in DER order.
    certificate = issued_from(
        service_certificates.enroll(
            new_key(tmp_path / "key.pem"),
            subject=SUBJECT,
            sans=("sw.example.com",),
            challenge=CLIENTS_CHALLENGE,
        )
    )

    names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert list(names) == [x509.DNSName("sw.example.com")]
    openssl_verify(tmp_path, certificate, pki.issuing.certificate, pki.root.certificate)
    assert IssuedCertificate.objects.get().certificate == certificate


def test_strongswan_renews_with_the_old_certificate(
    service_certificates: ScepCa, pki: Pki, tmp_path: Path
) -> None:
    old_key = new_key(tmp_path / "old-key.pem")
    old = issued_from(service_certificates.enroll(old_key, subject=SUBJECT, challenge=CLIENTS_CHALLENGE))
    old_file = write_pem(tmp_path / "old.pem", old)

    renewed = issued_from(
        service_certificates.enroll(
            new_key(tmp_path / "new-key.pem"), subject=SUBJECT, renew=(old_file, old_key)
        )
    )

    assert renewed.serial_number != old.serial_number
    assert renewed.public_key() != old.public_key()
    assert renewed.subject == old.subject
    openssl_verify(tmp_path, renewed, pki.issuing.certificate, pki.root.certificate)
    renewal = ScepTransaction.objects.get(message_type=scep.MessageType.RENEWAL_REQ)
    assert renewal.status == TransactionStatus.SUCCESS
    assert renewal.certificate is not None
    assert renewal.certificate.certificate == renewed
    assert renewal.renewed_certificate is not None
    assert renewal.renewed_certificate.certificate == old
    assert IssuedCertificate.objects.count() == 2


def test_strongswan_is_refused_a_wrong_challenge(service_certificates: ScepCa, tmp_path: Path) -> None:
    result = service_certificates.enroll(
        new_key(tmp_path / "key.pem"), subject=SUBJECT, challenge="not-the-challenge-0123456789abcdef"
    )

    assert result.returncode != 0, result.stdout
    assert "BEGIN CERTIFICATE" not in result.stdout
    assert IssuedCertificate.objects.count() == 0
    transaction = ScepTransaction.objects.get()
    assert (transaction.status, transaction.fail_info) == (
        TransactionStatus.FAILURE,
        scep.FailInfo.BAD_REQUEST,
    )
    refusal = ConnectorEvent.objects.get(event_id=EventId.SCEP_VERIFY_FAILURE)
    assert refusal.fail_info == scep.FailInfo.BAD_REQUEST


def test_strongswan_polls_until_the_request_is_approved(
    service_certificates: ScepCa, pki: Pki, tmp_path: Path
) -> None:
    pki.template.requires_approval = True
    pki.template.save()
    command = service_certificates.enroll_command(
        new_key(tmp_path / "key.pem"),
        subject=SUBJECT,
        challenge=CLIENTS_CHALLENGE,
        interval=1,
        max_poll_time=50,
    )

    with subprocess.Popen(
        command, cwd=service_certificates.directory, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as process:
        try:
            wait_until(
                lambda: CertificateRequest.objects.filter(
                    status=CertificateRequestStatus.PENDING_APPROVAL
                ).exists(),
                "pki's request is waiting for approval",
            )
            wait_until(
                lambda: ConnectorEvent.objects.filter(message_type=scep.MessageType.CERT_POLL).exists(),
                "pki polled (CertPoll) while the request was pending",
            )
            assert IssuedCertificate.objects.count() == 0
            certificate_request_approve(request=CertificateRequest.objects.get(), actor="ca-manager")
            stdout, stderr = process.communicate(timeout=60)
        finally:
            if process.poll() is None:
                process.kill()

    assert process.returncode == 0, stdout + stderr
    certificate = x509.load_pem_x509_certificate(stdout.encode())
    assert IssuedCertificate.objects.get().certificate == certificate
    openssl_verify(tmp_path, certificate, pki.issuing.certificate, pki.root.certificate)
    transaction = ScepTransaction.objects.get()
    assert (transaction.message_type, transaction.status) == (
        scep.MessageType.PKCS_REQ,
        TransactionStatus.SUCCESS,
    )
