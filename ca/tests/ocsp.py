"""Test helpers for the OCSP responder: real responders made by the real service, requests, openssl."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp

from ca.models import CertificateAuthority, OcspResponder
from ca.services import ocsp as ocsp_service
from ca.services import submission
from ca.services.ocsp import ocsp_responder_create
from ca.tests.pki import require_executable

__all__ = [
    "clear_ocsp_caches",
    "dispatch_at_once",
    "make_responder",
    "ocsp_request",
    "openssl_ocsp",
]


def dispatch_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Inside a test's transaction ``on_commit`` never fires: send requests to the (eager) CA task at
    once, as the enrollment fixtures do for RA certificates. Everything else is the real service.
    """
    monkeypatch.setattr(submission, "_dispatch_on_commit", submission.certificate_request_dispatch)


def make_responder(authority: CertificateAuthority, monkeypatch: pytest.MonkeyPatch) -> OcspResponder:
    dispatch_at_once(monkeypatch)
    return ocsp_responder_create(authority=authority, wait=5.0)


def clear_ocsp_caches() -> None:
    """Forget the per-process decrypted responder keys (as a new web worker would start)."""
    with ocsp_service._lock:
        ocsp_service._signer_cache.clear()
        ocsp_service._issuer_hash_cache.clear()


def ocsp_request(
    certificate: x509.Certificate,
    issuer: x509.Certificate,
    *,
    algorithm: hashes.HashAlgorithm | None = None,
    nonce: bytes | None = None,
) -> bytes:
    """A DER OCSPRequest for ``certificate``; SHA-1 CertID by default, as openssl and browsers send."""
    algorithm = algorithm or hashes.SHA1()  # noqa: S303 - RFC 5019's CertID hash, not a signature
    builder = ocsp.OCSPRequestBuilder().add_certificate(certificate, issuer, algorithm)
    if nonce is not None:
        builder = builder.add_extension(x509.OCSPNonce(nonce), critical=False)
    return builder.build().public_bytes(serialization.Encoding.DER)


def openssl_ocsp(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """``openssl ocsp ...``; returns the completed process (the caller checks stdout, stderr, returncode)."""
    return subprocess.run(
        [require_executable("openssl"), "ocsp", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=cwd,
    )
