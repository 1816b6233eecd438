r"""Canonical forms of names, and the one way certportal compares them. Pure: no Django.

A challenge is bound to the canonical form of the subject and SANs it authorises; a renewal must ask
for the subject of the certificate that signs it; a CA is found by its subject. All of them compare
with these functions, so two names are "the same" in exactly one sense everywhere:

* subject: the same RDNs in the same order, each with the same attributes (OID and value), whatever
  ASN.1 string type encodes a value (PrintableString, UTF8String, IA5String, ...); case and whitespace
  are significant;
* SANs: the same multiset of names, order ignored; DNS names compare case-insensitively (RFC 4343),
  a UPN otherName by its decoded value, any other otherName by its DER bytes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Final

from cryptography import x509

from ca.crypto.identities import upn_from_general_name

__all__ = ["canonical_sans", "canonical_subject", "names_equal", "sans_equal", "subject_sha256"]

_SPECIAL: Final = frozenset('\\,+="<>;#')


def _value(value: str | bytes) -> str:
    if isinstance(value, bytes):
        return "#" + value.hex()
    out: list[str] = []
    for char in value:
        if char in _SPECIAL or ord(char) < 0x20 or ord(char) == 0x7F:
            out.extend(f"\\{byte:02X}" for byte in char.encode("utf-8"))
        else:
            out.append(char)
    return "".join(out)


def canonical_subject(name: x509.Name) -> str:
    r"""A stable, encoding-independent string for ``name``.

    ``<dotted-oid>=<value>`` per attribute, attributes of a multi-valued RDN sorted and joined with ``+``,
    RDNs joined with ``,`` in their encoded order. Specials and control characters are ``\XX``-escaped, so
    the form is unambiguous.
    """
    rdns: list[str] = []
    for rdn in name.rdns:
        attributes = sorted((attribute.oid.dotted_string, _value(attribute.value)) for attribute in rdn)
        rdns.append("+".join(f"{oid}={value}" for oid, value in attributes))
    return ",".join(rdns)


def _general_name(name: x509.GeneralName) -> str:
    if isinstance(name, x509.RFC822Name):
        return f"email:{name.value}"
    if isinstance(name, x509.DNSName):
        return f"dns:{name.value.lower()}"
    if isinstance(name, x509.UniformResourceIdentifier):
        return f"uri:{name.value}"
    if isinstance(name, x509.OtherName):
        upn = upn_from_general_name(name)
        if upn is not None:
            return f"upn:{upn}"
        return f"othername:{name.type_id.dotted_string}:{name.value.hex()}"
    if isinstance(name, x509.IPAddress):
        return f"ip:{name.value}"
    if isinstance(name, x509.DirectoryName):
        return f"dirname:{canonical_subject(name.value)}"
    if isinstance(name, x509.RegisteredID):
        return f"rid:{name.value.dotted_string}"
    raise TypeError(f"unsupported general name {name!r}")  # pragma: no cover


def canonical_sans(names: Iterable[x509.GeneralName]) -> tuple[str, ...]:
    """Sorted, type-tagged strings (``dns:``, ``email:``, ``upn:``, ``uri:``, ...); DNS names lower-cased."""
    return tuple(sorted(_general_name(name) for name in names))


def names_equal(a: x509.Name, b: x509.Name) -> bool:
    """True when ``a`` and ``b`` are the same subject (see the module docstring)."""
    return canonical_subject(a) == canonical_subject(b)


def sans_equal(a: Iterable[x509.GeneralName], b: Iterable[x509.GeneralName]) -> bool:
    return canonical_sans(a) == canonical_sans(b)


def subject_sha256(name: x509.Name) -> str:
    """Hex SHA-256 of the canonical subject: how a CA is found by the issuer name a message carries."""
    return hashlib.sha256(canonical_subject(name).encode("utf-8")).hexdigest()
