"""Server-generated keys delivered as PKCS#12 (the reference's PKCS certificate profiles). Pure: no ORM.

The CA worker generates the device's key pair, makes a CSR with it (so that the ordinary issuance path,
which takes a public key from a CSR, signs it), and wraps the key with its certificate and chain in a
PKCS#12 encrypted with the delivery's password: AES-256-CBC with PBKDF2-HMAC-SHA256 for the key and the
certificates, an HMAC-SHA256 MAC (OpenSSL 3's defaults, which every current device stack opens; never the
legacy RC2/3DES with SHA-1).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeAlias

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import PrivateFormat, pkcs12
from cryptography.x509.oid import NameOID

from ca.crypto.keys import KeySpec, generate_private_key

__all__ = [
    "PKCS12_KDF_ROUNDS",
    "DeviceKey",
    "device_key_csr",
    "device_key_generate",
    "pkcs12_build",
    "pkcs12_open",
]

#: PBKDF2 iterations of the key and certificate encryption (NIST SP 800-132 asks for at least 1,000; OWASP
#: recommends 600,000 for PBKDF2-HMAC-SHA256 passwords: the password is random here, so fewer suffice).
PKCS12_KDF_ROUNDS = 200_000

DeviceKey: TypeAlias = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


def device_key_generate(spec: KeySpec) -> DeviceKey:
    """A new RSA (2048 bits or more) or EC (P-256, P-384) key pair for a device."""
    if spec.key_type == "RSA" and spec.size < 2048:
        raise ValueError("a server-generated RSA key has at least 2048 bits")
    key = generate_private_key(spec)
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):  # pragma: no cover
        raise ValueError(f"unsupported key type {type(key).__name__}")
    return key


def device_key_csr(key: DeviceKey) -> x509.CertificateSigningRequest:
    """A CSR proving possession of ``key``; its subject is a placeholder: issuance takes the subject and the
    SANs the profile rendered, never the CSR's.
    """
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "server-generated key")])
    return x509.CertificateSigningRequestBuilder().subject_name(subject).sign(key, hashes.SHA256())


def pkcs12_build(
    *,
    key: DeviceKey,
    certificate: x509.Certificate,
    chain: Sequence[x509.Certificate],
    password: str,
    friendly_name: str,
) -> bytes:
    """The DER PKCS#12 of ``key``, ``certificate`` and its CA ``chain`` (issuing CA first), encrypted with
    ``password`` (AES-256-CBC, PBKDF2-HMAC-SHA256, HMAC-SHA256 MAC).
    """
    if not password:
        raise ValueError("a PKCS#12 for delivery needs a password")
    encryption = (
        PrivateFormat.PKCS12.encryption_builder()
        .kdf_rounds(PKCS12_KDF_ROUNDS)
        .key_cert_algorithm(pkcs12.PBES.PBESv2SHA256AndAES256CBC)
        .hmac_hash(hashes.SHA256())
        .build(password.encode("utf-8"))
    )
    return pkcs12.serialize_key_and_certificates(
        friendly_name.encode("utf-8")[:64] or None,
        key,
        certificate,
        list(chain) or None,
        encryption,
    )


def pkcs12_open(data: bytes, password: str) -> pkcs12.PKCS12KeyAndCertificates:
    """Parse a PKCS#12 (for tests and the key-matches check)."""
    return pkcs12.load_pkcs12(data, password.encode("utf-8"))
