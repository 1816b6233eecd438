"""PKCS certificates: the CA worker generates the key, issues the certificate and delivers a PKCS#12 once.

The PKCS#12 is opened by openssl (not by cryptography) with the delivered password; its certificate
verifies against the CA chain and its key matches the certificate.
"""

from __future__ import annotations

import datetime as dt
import subprocess
from pathlib import Path

import pytest

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import NameOID

from django.utils import timezone

from ca.choices import CertificateRequestStatus, PkcsRequestStatus
from ca.exceptions import PolicyViolation
from ca.models import CertificateRequest, IssuedCertificate, PkcsRequest
from ca.services.pkcs_requests import (
    pkcs_bundle_deliver,
    pkcs_delivery_password,
    pkcs_request_redispatch_stale,
    pkcs_request_submit,
)
from ca.tests.pki import openssl, openssl_verify, require_executable
from eventlog.choices import DiagnosticCode, EventId
from eventlog.models import ConnectorEvent

SUBJECT = x509.Name(
    [
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "certportal tests"),
        x509.NameAttribute(NameOID.COMMON_NAME, "jdoe"),
    ]
)
HOLDER = {
    "device_id": 7,
    "device_external_id": "dev-7",
    "user_id": 3,
    "user_principal_name": "j@corp.example",
}


def _submit(pki, key_spec: str = "RSA-2048") -> PkcsRequest:
    return pkcs_request_submit(
        authority=pki.issuing,
        template=pki.template,
        key_spec=key_spec,
        subject=SUBJECT,
        sans=[x509.RFC822Name("jdoe@corp.example.com")],
        requester="test",
        holder=HOLDER,
    )


def _openssl_pkcs12(path: Path, password: str, *options: str) -> str:
    """``openssl pkcs12 -in <path> -passin env:...`` (the password never on the command line)."""
    exe = require_executable("openssl")
    result = subprocess.run(
        [exe, "pkcs12", "-in", str(path), "-passin", "env:P12_PASSWORD", "-nodes", *options],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"P12_PASSWORD": password, "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.parametrize("key_spec", ["RSA-2048", "EC-P256"])
def test_pkcs12_opens_with_the_delivered_password_verifies_and_matches(
    pki, tmp_path, django_capture_on_commit_callbacks, key_spec
):
    with django_capture_on_commit_callbacks(execute=True):
        request = _submit(pki, key_spec)

    request.refresh_from_db()
    assert request.status == PkcsRequestStatus.ISSUED
    assert request.certificate_request is not None
    assert request.certificate_request.status == CertificateRequestStatus.ISSUED
    bundle = pkcs_bundle_deliver(request=request)
    assert bundle is not None
    assert bundle.password == pkcs_delivery_password(request)
    assert len(bundle.password) == 32

    p12 = tmp_path / "device.p12"
    p12.write_bytes(bundle.pkcs12_der)
    info = openssl("pkcs12", "-in", str(p12), "-info", "-noout", "-passin", f"pass:{bundle.password}")
    assert "PBES2, PBKDF2, AES-256-CBC" in info.stderr + info.stdout
    leaf_pem = _openssl_pkcs12(p12, bundle.password, "-clcerts", "-nokeys")
    key_pem = _openssl_pkcs12(p12, bundle.password, "-nocerts")
    chain_pem = _openssl_pkcs12(p12, bundle.password, "-cacerts", "-nokeys")
    leaf = x509.load_pem_x509_certificate(leaf_pem.encode())
    carried_chain = x509.load_pem_x509_certificates(chain_pem.encode())
    assert {c.fingerprint(hashes.SHA256()) for c in carried_chain} == {
        pki.issuing.certificate.fingerprint(hashes.SHA256()),
        pki.root.certificate.fingerprint(hashes.SHA256()),
    }
    openssl_verify(tmp_path, leaf, *carried_chain, purpose="sslclient")
    (tmp_path / "leaf.pem").write_text(leaf_pem)
    (tmp_path / "key.pem").write_text(key_pem)
    leaf_public = openssl("x509", "-in", str(tmp_path / "leaf.pem"), "-noout", "-pubkey").stdout
    key_public = openssl("pkey", "-in", str(tmp_path / "key.pem"), "-pubout").stdout
    assert leaf_public == key_public  # the key matches the certificate
    with pytest.raises(AssertionError):
        _openssl_pkcs12(p12, "wrong password", "-nokeys")

    issued = IssuedCertificate.objects.get()
    assert issued.fingerprint_sha256 == leaf.fingerprint(hashes.SHA256()).hex().upper()
    assert issued.subject == "CN=jdoe,O=certportal tests"

    request.refresh_from_db()
    assert request.status == PkcsRequestStatus.DELIVERED
    assert request.pkcs12_der is None
    assert pkcs_bundle_deliver(request=request) is None  # once

    (success,) = ConnectorEvent.objects.filter(event_id=EventId.PKCS_CERT_ISSUE_SUCCESS)
    assert (success.device_id, success.user_id, success.user_principal_name) == (7, 3, "j@corp.example")
    assert (success.ca_name, success.template_name) == (pki.issuing.name, pki.template.name)
    assert (success.thumbprint, success.diagnostic_code) == (issued.fingerprint_sha1, DiagnosticCode.SUCCESS)


def test_a_disabled_ca_fails_the_request_with_20102_ca_unavailable(pki, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        request = _submit(pki)
        type(pki.issuing).objects.filter(pk=pki.issuing.pk).update(enabled=False)

    request.refresh_from_db()
    assert request.status == PkcsRequestStatus.FAILED
    assert "disabled" in request.failure_reason
    assert not IssuedCertificate.objects.exists()
    assert not CertificateRequest.objects.exists()
    (failure,) = ConnectorEvent.objects.filter(event_id=EventId.PKCS_CERT_ISSUE_FAILURE)
    assert failure.diagnostic_code == DiagnosticCode.PKCS_ISSUE_CA_UNAVAILABLE
    assert (failure.device_id, failure.template_name) == (7, pki.template.name)
    assert pkcs_bundle_deliver(request=request) is None


def test_a_key_below_the_template_minimum_is_refused_at_submission(pki):
    pki.template.min_rsa_key_size = 3072
    pki.template.save()
    with pytest.raises(PolicyViolation) as refused:
        _submit(pki, "RSA-2048")
    assert refused.value.code == "key_too_small"
    assert not PkcsRequest.objects.exists()


def test_a_lost_pkcs_task_is_sent_again_by_the_sweep(pki):
    request = _submit(pki)  # on_commit never fires here: the task is "lost"
    PkcsRequest.objects.filter(pk=request.pk).update(updated_at=timezone.now() - dt.timedelta(hours=1))

    assert pkcs_request_redispatch_stale(older_than=dt.timedelta(minutes=2)) == 1

    request.refresh_from_db()
    assert request.status == PkcsRequestStatus.ISSUED
    assert pkcs_request_redispatch_stale(older_than=dt.timedelta(minutes=2)) == 0
