"""Helpers shared by the device payload builders (pure, no Django)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from cryptography import x509
from cryptography.hazmat.primitives import hashes

__all__ = [
    "KEY_SIZES",
    "ExportError",
    "check_identifier",
    "check_key_size",
    "check_key_usage",
    "check_unique",
    "sha1_fingerprint",
]

#: RSA key sizes both Apple's SCEP payload and the Windows CSP accept.
KEY_SIZES: Final = frozenset({1024, 2048, 4096})


class ExportError(Exception):
    """The input cannot be expressed in the device payload (shown to the admin or logged)."""


def sha1_fingerprint(certificate: x509.Certificate) -> bytes:
    """SHA-1 over the DER certificate: Apple's ``CAFingerprint`` and Windows' thumbprint."""
    return certificate.fingerprint(hashes.SHA1())  # noqa: S303 - a thumbprint, not a signature


def check_key_size(key_size: int) -> int:
    if key_size not in KEY_SIZES:
        raise ExportError(f"key size {key_size} is not one of {', '.join(map(str, sorted(KEY_SIZES)))}")
    return key_size


def check_key_usage(*, digital_signature: bool, key_encipherment: bool) -> None:
    if not (digital_signature or key_encipherment):
        raise ExportError("at least one key usage (digital signature or key encipherment) is required")


def check_identifier(identifier: str, what: str) -> str:
    if not identifier.strip():
        raise ExportError(f"{what} is empty")
    return identifier


def check_unique(values: Iterable[str], what: str) -> None:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise ExportError(f"duplicate {what} {value!r}")
        seen.add(value)
