"""Key generation and key policy (sizes, curves)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes, PublicKeyTypes

from ca.constants import ALLOWED_CURVES, ALLOWED_RSA_KEY_SIZES, MAX_RSA_KEY_SIZE

__all__ = [
    "KeyPolicyError",
    "KeySpec",
    "check_request_key",
    "describe_public_key",
    "generate_private_key",
    "spki_sha256",
]

_CURVES: dict[str, type[ec.EllipticCurve]] = {"secp256r1": ec.SECP256R1, "secp384r1": ec.SECP384R1}
#: Curves a requester's key may use: the NIST curves every device stack knows.
_REQUEST_CURVES = {"secp256r1": 256, "secp384r1": 384, "secp521r1": 521}


class KeyPolicyError(ValueError):
    """A key that policy refuses. ``code`` is stable: key_type_unsupported, key_too_small, key_too_large."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class KeySpec:
    """A CA key to generate: ``RSA-2048`` ... ``RSA-4096``, ``EC-P256``, ``EC-P384``."""

    key_type: str  # "RSA" or "EC"
    size: int  # RSA modulus bits, or curve bits

    @classmethod
    def parse(cls, text: str) -> KeySpec:
        kind, _, size = text.strip().upper().partition("-")
        if kind == "RSA" and size.isdigit() and int(size) in ALLOWED_RSA_KEY_SIZES:
            return cls("RSA", int(size))
        if kind == "EC" and size in {"P256", "P384"}:
            return cls("EC", int(size[1:]))
        allowed = ", ".join([*(f"RSA-{n}" for n in ALLOWED_RSA_KEY_SIZES), "EC-P256", "EC-P384"])
        raise KeyPolicyError(f"unsupported CA key {text!r}; choose one of {allowed}", "key_type_unsupported")

    @property
    def curve_name(self) -> str:
        return {256: "secp256r1", 384: "secp384r1"}[self.size]

    def __str__(self) -> str:
        return f"RSA-{self.size}" if self.key_type == "RSA" else f"EC-P{self.size}"


def generate_private_key(spec: KeySpec) -> CertificateIssuerPrivateKeyTypes:
    if spec.key_type == "RSA":
        return rsa.generate_private_key(public_exponent=65537, key_size=spec.size)
    if spec.curve_name not in ALLOWED_CURVES:  # pragma: no cover - KeySpec.parse already refuses it
        raise KeyPolicyError(f"unsupported curve {spec.curve_name}", "key_type_unsupported")
    return ec.generate_private_key(_CURVES[spec.curve_name]())


def describe_public_key(key: PublicKeyTypes) -> tuple[str, int]:
    """Return ("RSA", bits) or ("EC", curve bits); other key types raise KeyPolicyError."""
    if isinstance(key, rsa.RSAPublicKey):
        return "RSA", key.key_size
    if isinstance(key, ec.EllipticCurvePublicKey):
        return "EC", key.curve.key_size
    raise KeyPolicyError(f"unsupported key type {type(key).__name__}; use RSA or EC", "key_type_unsupported")


def check_request_key(key: PublicKeyTypes, *, min_rsa_bits: int, min_ec_bits: int) -> tuple[str, int]:
    """Refuse keys below the template's minimum, unknown curves, and weak RSA public exponents."""
    if isinstance(key, rsa.RSAPublicKey):
        bits = key.key_size
        if bits < min_rsa_bits:
            raise KeyPolicyError(
                f"RSA key of {bits} bits is below the minimum of {min_rsa_bits}", "key_too_small"
            )
        if bits > MAX_RSA_KEY_SIZE:
            raise KeyPolicyError(
                f"RSA key of {bits} bits is above the maximum of {MAX_RSA_KEY_SIZE}", "key_too_large"
            )
        exponent = key.public_numbers().e
        if exponent < 3 or exponent % 2 == 0:
            raise KeyPolicyError(f"RSA public exponent {exponent} is not allowed", "key_type_unsupported")
        return "RSA", bits
    if isinstance(key, ec.EllipticCurvePublicKey):
        bits = _REQUEST_CURVES.get(key.curve.name, 0)
        if not bits:
            raise KeyPolicyError(f"elliptic curve {key.curve.name} is not allowed", "key_type_unsupported")
        if bits < min_ec_bits:
            raise KeyPolicyError(
                f"EC key on {key.curve.name} is below the minimum of {min_ec_bits} bits", "key_too_small"
            )
        return "EC", bits
    raise KeyPolicyError(f"unsupported key type {type(key).__name__}; use RSA or EC", "key_type_unsupported")


def spki_sha256(key: PublicKeyTypes) -> str:
    """Hex SHA-256 of the DER SubjectPublicKeyInfo: how certificates and requests find one key."""
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).hexdigest()
