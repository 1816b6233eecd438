"""Our own client, ``manage.py scep_enroll`` in a process of its own (it needs no database: HTTP only),
against the SCEP service without legacy algorithms, over HTTPS verified with ``--cafile``: SANs, the UPN a
static challenge never authorises, renewal, a refusal, and approval (PENDING, then run again to poll).

A UPN issued with a one-time challenge (the check-in flow): profiles/tests/test_scep_enroll_checkin.py.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from cryptography import x509

from ca.choices import CertificateRequestStatus
from ca.models import CertificateRequest, IssuedCertificate
from ca.services.submission import certificate_request_approve
from ca.tests.fixtures import Pki
from ca.tests.pki import openssl, openssl_verify
from enrollment import scep
from enrollment.choices import TransactionStatus
from enrollment.models import ScepService, ScepTransaction
from enrollment.tests.clients.conftest import CLIENTS_CHALLENGE
from eventlog.choices import EventId
from eventlog.models import ConnectorEvent

pytestmark = pytest.mark.external

MANAGE = Path(__file__).resolve().parents[3] / "manage.py"


def scep_enroll(
    url: str, cafile: Path, directory: Path, *arguments: str, key: str = "key.pem", out: str = "cert.pem"
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable, str(MANAGE), "scep_enroll", url,
            "--cafile", str(cafile), "--key", str(directory / key), "--out", str(directory / out), *arguments,
        ],
        capture_output=True, text=True, timeout=120, check=False,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "portal.settings.test"},
    )  # fmt: skip


def load(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def test_enrolls_with_dns_email_and_uri_names(
    clients_url: str, clients_tls_cafile: Path, clients_service: ScepService, pki: Pki, tmp_path: Path
) -> None:
    clients_service.static_san_types = ["dns", "email", "uri"]
    clients_service.save(update_fields=["static_san_types"])

    result = scep_enroll(
        clients_url, clients_tls_cafile, tmp_path,
        "--subject", "CN=own-host.example.com,O=certportal tests", "--challenge", CLIENTS_CHALLENGE,
        "--san", "dns:own-host.example.com", "--san", "email:ops@example.com",
        "--san", "uri:https://example.com/devices/own-host",
    )  # fmt: skip

    assert result.returncode == 0, result.stdout + result.stderr
    certificate = load(tmp_path / "cert.pem")
    assert "issued CN=own-host.example.com,O=certportal tests serial " in result.stdout
    names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert list(names) == [
        x509.DNSName("own-host.example.com"),
        x509.RFC822Name("ops@example.com"),
        x509.UniformResourceIdentifier("https://example.com/devices/own-host"),
    ]
    openssl_verify(tmp_path, certificate, pki.issuing.certificate, pki.root.certificate)
    text = openssl("x509", "-in", str(tmp_path / "cert.pem"), "-noout", "-ext", "subjectAltName").stdout
    assert "DNS:own-host.example.com, email:ops@example.com, URI:https://example.com/devices/own-host" in text
    transaction = ScepTransaction.objects.get()
    assert (transaction.message_type, transaction.status) == (
        scep.MessageType.PKCS_REQ,
        TransactionStatus.SUCCESS,
    )
    assert transaction.certificate is not None
    assert transaction.certificate.certificate == certificate


def test_a_static_challenge_never_authorises_a_upn(
    clients_url: str, clients_tls_cafile: Path, tmp_path: Path
) -> None:
    result = scep_enroll(
        clients_url, clients_tls_cafile, tmp_path,
        "--subject", "CN=alice", "--challenge", CLIENTS_CHALLENGE, "--san", "upn:alice@corp.example.com",
    )  # fmt: skip

    assert result.returncode != 0
    assert "FAILURE badRequest: a static challenge never authorises a UPN" in result.stderr, result.stderr
    assert not (tmp_path / "cert.pem").exists()
    assert IssuedCertificate.objects.count() == 0
    assert (
        ConnectorEvent.objects.get(event_id=EventId.CRP_VERIFY_WARNING).details["reason"] == "upn_not_allowed"
    )


def test_renews_with_the_current_certificate(
    clients_url: str, clients_tls_cafile: Path, pki: Pki, tmp_path: Path
) -> None:
    first = scep_enroll(
        clients_url,
        clients_tls_cafile,
        tmp_path,
        "--subject",
        "CN=own-renew",
        "--challenge",
        CLIENTS_CHALLENGE,
    )
    assert first.returncode == 0, first.stdout + first.stderr
    old = load(tmp_path / "cert.pem")

    renewed_run = scep_enroll(
        clients_url, clients_tls_cafile, tmp_path, "--renew", str(tmp_path / "cert.pem"), out="renewed.pem"
    )

    assert renewed_run.returncode == 0, renewed_run.stdout + renewed_run.stderr
    renewed = load(tmp_path / "renewed.pem")
    assert renewed.serial_number != old.serial_number
    assert renewed.subject == old.subject
    openssl_verify(tmp_path, renewed, pki.issuing.certificate, pki.root.certificate)
    renewal = ScepTransaction.objects.get(message_type=scep.MessageType.RENEWAL_REQ)
    assert renewal.status == TransactionStatus.SUCCESS
    assert renewal.renewed_certificate is not None
    assert renewal.renewed_certificate.certificate == old
    assert renewal.certificate is not None
    assert renewal.certificate.certificate == renewed


def test_a_wrong_challenge_is_refused_clearly(
    clients_url: str, clients_tls_cafile: Path, tmp_path: Path
) -> None:
    result = scep_enroll(
        clients_url, clients_tls_cafile, tmp_path, "--subject", "CN=own-refused", "--challenge", "not-it"
    )

    assert result.returncode != 0
    assert "FAILURE badRequest" in result.stderr, result.stderr
    assert not (tmp_path / "cert.pem").exists()
    assert IssuedCertificate.objects.count() == 0
    transaction = ScepTransaction.objects.get()
    assert (transaction.status, transaction.fail_info) == (
        TransactionStatus.FAILURE,
        scep.FailInfo.BAD_REQUEST,
    )


def test_pending_then_approved_then_issued_on_the_next_run(
    clients_url: str, clients_tls_cafile: Path, pki: Pki, tmp_path: Path
) -> None:
    pki.template.requires_approval = True
    pki.template.save()
    arguments = ("--subject", "CN=own-approval", "--challenge", CLIENTS_CHALLENGE)

    pending = scep_enroll(clients_url, clients_tls_cafile, tmp_path, *arguments)

    assert pending.returncode != 0
    assert "PENDING" in pending.stderr, pending.stderr
    assert "run again to poll" in pending.stderr
    assert not (tmp_path / "cert.pem").exists()
    request = CertificateRequest.objects.get()
    assert request.status == CertificateRequestStatus.PENDING_APPROVAL

    still_pending = scep_enroll(clients_url, clients_tls_cafile, tmp_path, *arguments)
    assert still_pending.returncode != 0
    assert "PENDING" in still_pending.stderr, still_pending.stderr

    certificate_request_approve(request=request, actor="ca-manager")
    issued = scep_enroll(clients_url, clients_tls_cafile, tmp_path, *arguments)

    assert issued.returncode == 0, issued.stdout + issued.stderr
    certificate = load(tmp_path / "cert.pem")
    assert IssuedCertificate.objects.get().certificate == certificate
    openssl_verify(tmp_path, certificate, pki.issuing.certificate, pki.root.certificate)
    transaction = ScepTransaction.objects.get()
    assert (transaction.status, transaction.certificate) == (
        TransactionStatus.SUCCESS,
        IssuedCertificate.objects.get(),
    )
