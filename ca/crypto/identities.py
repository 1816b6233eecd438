"""The grammar of the identities a certificate can name: Windows SIDs, user principal names, the
KB5014754 SID URI. Pure: no Django. Every app checks these with the functions here, so that the
directory never accepts a value that the CA would later refuse.

SID (MS-DTYP 2.4.2.1): ``S-1-<identifier authority>-<sub-authority>...``; the authority is decimal below
2^48, or ``0x`` and 12 hexadecimal digits; 1 to 15 sub-authorities, each below 2^32. The canonical form
starts with an upper-case ``S``: that is the only form stored or signed. :func:`sid_normalize` also
accepts a lower-case ``s`` and returns the canonical form, for values typed in a profile.

UPN: ``name@domain`` with no whitespace, exactly one ``@``, a non-empty name and domain, as Entra ID and
AD write ``userPrincipalName``. In a certificate it is the otherName szOID_NT_PRINCIPAL_NAME
(1.3.6.1.4.1.311.20.2.3) holding a DER UTF8String.
"""

from __future__ import annotations

import re
from typing import Final

from asn1crypto import core as asn1core
from cryptography import x509
from cryptography.x509.oid import ObjectIdentifier

__all__ = [
    "OID_UPN",
    "SID_PATTERN",
    "SID_URI_PREFIX",
    "address_parts",
    "sid_from_uri",
    "sid_is_valid",
    "sid_normalize",
    "sid_uri",
    "upn_from_general_name",
    "upn_general_name",
    "upn_is_valid",
]

#: Microsoft User Principal Name otherName (szOID_NT_PRINCIPAL_NAME).
OID_UPN: Final = ObjectIdentifier("1.3.6.1.4.1.311.20.2.3")
#: KB5014754 strong certificate mapping: the SID carried as this URI subject alternative name.
SID_URI_PREFIX: Final = "tag:microsoft.com,2022-09-14:sid:"

#: The canonical SID syntax; use with ``fullmatch`` (the numeric ranges are checked by ``sid_is_valid``).
SID_PATTERN: Final = re.compile(
    r"S-1-(?P<authority>[0-9]{1,15}|0x[0-9A-Fa-f]{12})(?P<sub>(?:-[0-9]{1,10}){1,15})"
)
_MAX_AUTHORITY: Final = 2**48 - 1
_MAX_SUB_AUTHORITY: Final = 2**32 - 1


def sid_is_valid(sid: str) -> bool:
    """True for a SID in canonical form (``S-1-5-21-...``) whose components are within range."""
    match = SID_PATTERN.fullmatch(sid)
    if match is None:
        return False
    authority = match["authority"]
    value = int(authority, 16) if authority.startswith("0x") else int(authority)
    subs = [int(part) for part in match["sub"][1:].split("-")]
    return value <= _MAX_AUTHORITY and all(sub <= _MAX_SUB_AUTHORITY for sub in subs)


def sid_normalize(sid: str) -> str:
    """The canonical form of ``sid`` (a lower-case ``s-`` prefix is accepted); ValueError if it is not one."""
    candidate = "S" + sid[1:] if sid[:1] in {"s", "S"} else sid
    if not sid_is_valid(candidate):
        raise ValueError(f"{sid!r} is not a Windows security identifier (expected S-1-<authority>-<sub>...)")
    return candidate


def sid_uri(sid: str) -> x509.UniformResourceIdentifier:
    """The KB5014754 strong-mapping SAN ``tag:microsoft.com,2022-09-14:sid:<SID>``."""
    return x509.UniformResourceIdentifier(SID_URI_PREFIX + sid_normalize(sid))


def sid_from_uri(name: x509.GeneralName) -> str | None:
    """The SID of a KB5014754 SID URI, or None when ``name`` is not one."""
    if not isinstance(name, x509.UniformResourceIdentifier) or not name.value.startswith(SID_URI_PREFIX):
        return None
    return name.value[len(SID_URI_PREFIX) :]


def address_parts(value: str) -> tuple[str, str] | None:
    """``(name, domain)`` of a ``name@domain`` address (UPN or email shape), or None if it is not one."""
    local, at, domain = value.partition("@")
    if not at or not local or not domain or "@" in domain or any(char.isspace() for char in value):
        return None
    return local, domain


def upn_is_valid(upn: str) -> bool:
    """True for a user principal name of the shape ``name@domain``."""
    return address_parts(upn) is not None


def upn_general_name(upn: str) -> x509.OtherName:
    """A Microsoft UPN subject alternative name: otherName 1.3.6.1.4.1.311.20.2.3 holding a UTF8String."""
    return x509.OtherName(OID_UPN, asn1core.UTF8String(upn).dump())


def upn_from_general_name(name: x509.GeneralName) -> str | None:
    """The UPN carried by ``name``; None if it is not a well-formed UPN otherName."""
    if not isinstance(name, x509.OtherName) or name.type_id != OID_UPN:
        return None
    try:
        value = str(asn1core.UTF8String.load(name.value, strict=True).native)
    except (ValueError, TypeError):
        return None
    # DER only: a re-encoding must give the same bytes (no long-form or padded lengths).
    return value if asn1core.UTF8String(value).dump() == name.value else None
