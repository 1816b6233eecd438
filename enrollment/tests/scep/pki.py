"""Test PKI material for the SCEP library tests: a CA, an RA, requesters, and external-program helpers.

Self-contained (no Django, no ``ca`` app) so that the library's tests run without a database.
"""

import os
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

#: Timeout (seconds) for every external process.
PROCESS_TIMEOUT = 60


@dataclass(frozen=True)
class Identity:
    certificate: x509.Certificate
    key: rsa.RSAPrivateKey


def name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "certportal tests"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def key_usage(*, sign: bool = False, encipher: bool = False, ca: bool = False) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=sign,
        content_commitment=False,
        key_encipherment=encipher,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


def rsa_key(bits: int = 2048) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def certificate(
    *,
    subject: x509.Name,
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey,
    issuer: Identity | None = None,
    ca: bool = False,
    usage: x509.KeyUsage | None = None,
    client_auth: bool = False,
    days: int = 30,
    serial: int | None = None,
) -> x509.Certificate:
    """A certificate for ``key``, self-signed when ``issuer`` is None."""
    now = datetime.now(tz=UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.certificate.subject if issuer else subject)
        .public_key(key.public_key())
        .serial_number(serial or x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if usage is not None:
        builder = builder.add_extension(usage, critical=True)
    if client_auth:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False
        )
    if issuer is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()), critical=False
        )
    return builder.sign(issuer.key if issuer else key, hashes.SHA256())


def make_ca(common_name: str = "certportal test CA") -> Identity:
    key = rsa_key()
    return Identity(
        certificate(subject=name(common_name), key=key, ca=True, usage=key_usage(sign=True, ca=True)), key
    )


def make_ra(ca: Identity, common_name: str = "certportal test RA") -> Identity:
    key = rsa_key()
    cert = certificate(
        subject=name(common_name), key=key, issuer=ca, usage=key_usage(sign=True, encipher=True)
    )
    return Identity(cert, key)


def issue(ca: Identity, csr: x509.CertificateSigningRequest, *, days: int = 30) -> x509.Certificate:
    """Sign ``csr`` with the test CA as a client-authentication certificate (subject copied: tests only)."""
    public_key = csr.public_key()
    assert isinstance(public_key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey)
    now = datetime.now(tz=UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(csr.subject)
        .issuer_name(ca.certificate.subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(key_usage(sign=True, encipher=True), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()), critical=False
        )
        .sign(ca.key, hashes.SHA256())
    )


def make_crl(ca: Identity, revoked_serials: Sequence[int] = ()) -> x509.CertificateRevocationList:
    now = datetime.now(tz=UTC)
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca.certificate.subject)
        .last_update(now)
        .next_update(now + timedelta(days=1))
    )
    for serial in revoked_serials:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(now).build()
        )
    return builder.sign(ca.key, hashes.SHA256())


def pem(*items: x509.Certificate | x509.CertificateRevocationList) -> bytes:
    return b"".join(item.public_bytes(serialization.Encoding.PEM) for item in items)


def key_pem(key: rsa.RSAPrivateKey, *, traditional: bool = False) -> bytes:
    fmt = serialization.PrivateFormat.TraditionalOpenSSL if traditional else serialization.PrivateFormat.PKCS8
    return key.private_bytes(serialization.Encoding.PEM, fmt, serialization.NoEncryption())


def require_executable(path: str) -> str:
    """``path`` if it is an executable; skip otherwise, except with CI=true, where a missing program fails."""
    found = shutil.which(path)
    if found is None:
        message = f"{path} is not installed"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{message} (required when CI=true)")
        pytest.skip(message)
    return found


def run(args: Sequence[str | Path], *, input_bytes: bytes | None = None, cwd: Path | None = None) -> bytes:
    """Run an external program with a timeout; fail the test with its output when it exits non-zero."""
    result = subprocess.run(
        [str(arg) for arg in args],
        input=input_bytes,
        capture_output=True,
        timeout=PROCESS_TIMEOUT,
        check=False,
        cwd=cwd,
    )
    if result.returncode != 0:
        pytest.fail(
            f"{' '.join(map(str, args))} exited {result.returncode}:\n{result.stdout!r}\n{result.stderr!r}"
        )
    return result.stdout


def openssl(*args: str | Path, input_bytes: bytes | None = None) -> bytes:
    return run([require_executable("/usr/bin/openssl"), *args], input_bytes=input_bytes)
