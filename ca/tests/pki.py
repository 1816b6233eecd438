"""Test helpers for real PKI material: keys, CSRs, and independent checks with openssl."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes
from cryptography.x509.oid import NameOID

from django.db import connection

__all__ = [
    "ec_key",
    "make_csr",
    "openssl",
    "openssl_text",
    "openssl_verify",
    "require_executable",
    "require_postgresql",
    "write_pem",
]


def require_executable(name: str) -> str:
    """Path of an external program; skip when missing, except in CI (CI=true), where that is a failure."""
    path = shutil.which(name)
    if path is None:
        _skip_unless_ci(f"{name} is not installed")
        raise AssertionError("unreachable: skip/fail raised")  # pragma: no cover
    return path


def _skip_unless_ci(reason: str) -> None:
    """Skip a test for a missing service or program; in CI (CI=true) fail instead."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason}; CI must provide it")
    pytest.skip(reason)


def require_postgresql() -> None:
    """Skip unless the test database is PostgreSQL; in CI (CI=true) a missing PostgreSQL is a failure."""
    if connection.vendor != "postgresql":
        _skip_unless_ci(f"needs PostgreSQL (DATABASE_URL); the test database is {connection.vendor}")


def openssl(
    *args: str, input_bytes: bytes | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    exe = require_executable("openssl")
    result = subprocess.run(
        [exe, *args],
        input=input_bytes.decode("latin-1") if input_bytes else None,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"openssl {' '.join(args)} failed: {result.stdout}{result.stderr}")
    return result


def write_pem(path: Path, *certificates: x509.Certificate | x509.CertificateRevocationList) -> Path:
    path.write_bytes(b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certificates))
    return path


def make_csr(
    key: CertificateIssuerPrivateKeyTypes | None = None,
    *,
    common_name: str = "device-1",
    subject: x509.Name | None = None,
    extensions: Sequence[x509.ExtensionType] = (),
    challenge: str | None = None,
    digest: hashes.HashAlgorithm | None = None,
) -> tuple[x509.CertificateSigningRequest, CertificateIssuerPrivateKeyTypes]:
    key = key or rsa.generate_private_key(public_exponent=65537, key_size=2048)
    builder = x509.CertificateSigningRequestBuilder().subject_name(
        subject or x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    )
    for extension in extensions:
        builder = builder.add_extension(extension, critical=False)
    if challenge is not None:
        builder = builder.add_attribute(x509.oid.AttributeOID.CHALLENGE_PASSWORD, challenge.encode("utf-8"))
    algorithm: Any = digest if digest is not None else (None if _is_edwards(key) else hashes.SHA256())
    return builder.sign(key, algorithm), key


def _is_edwards(key: object) -> bool:
    return isinstance(key, ed25519.Ed25519PrivateKey | ed448.Ed448PrivateKey)


def ec_key(curve: ec.EllipticCurve | None = None) -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(curve or ec.SECP256R1())


def openssl_verify(
    directory: Path, leaf: x509.Certificate, *chain: x509.Certificate, purpose: str = "sslclient"
) -> str:
    """Run ``openssl verify -CAfile <chain> -purpose <purpose> <leaf>``; return its output (asserts OK)."""
    chain_file = write_pem(directory / "verify-chain.pem", *chain)
    leaf_file = write_pem(directory / "verify-leaf.pem", leaf)
    result = openssl("verify", "-CAfile", str(chain_file), "-purpose", purpose, str(leaf_file))
    assert result.stdout.strip() == f"{leaf_file}: OK", result.stdout + result.stderr
    return result.stdout


def openssl_text(certificate: x509.Certificate | x509.CertificateRevocationList, directory: Path) -> str:
    """``openssl x509|crl -noout -text`` of ``certificate``, parsed by openssl, not by cryptography."""
    kind = "crl" if isinstance(certificate, x509.CertificateRevocationList) else "x509"
    path = write_pem(directory / f"text.{kind}.pem", certificate)
    return openssl(kind, "-in", str(path), "-noout", "-text").stdout
