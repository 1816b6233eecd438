"""Helpers shared by the device payload builders (pure, no Django)."""

from __future__ import annotations

import re
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
    "xml_text_problem",
]

#: RSA key sizes both Apple's SCEP payload and the Windows CSP accept.
KEY_SIZES: Final = frozenset({1024, 2048, 4096})


#: What XML 1.0 cannot carry at all, not even as a character reference (its ``Char`` production): the C0
#: controls but tab, LF and CR, lone surrogates, U+FFFE and U+FFFF.
_NOT_XML: Final = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


class ExportError(Exception):
    """The input cannot be expressed in the device payload (shown to the admin or logged)."""


def xml_text_problem(value: str, *, forbidden: str = "") -> str | None:
    """The first character of ``value`` that an XML document cannot carry (or one of ``forbidden``),
    as ``U+XXXX at position N``; None when there is none.
    """
    match = _NOT_XML.search(value)
    first = match.start() if match is not None else None
    for char in forbidden:
        index = value.find(char)
        if index >= 0 and (first is None or index < first):
            first = index
    if first is None:
        return None
    return f"U+{ord(value[first]):04X} at position {first + 1}"


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
