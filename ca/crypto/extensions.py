"""Extensions the CA adds that ``cryptography`` has no class for."""

from __future__ import annotations

from asn1crypto import core as asn1core
from cryptography import x509

from ca.constants import OID_NTDS_CA_SECURITY_EXT, OID_NTDS_OBJECTSID
from ca.crypto.identities import sid_is_valid

__all__ = ["ntds_security_extension"]


class _SidOtherName(asn1core.Sequence):  # type: ignore[misc]  # asn1crypto is untyped
    _fields = [
        ("type_id", asn1core.ObjectIdentifier),
        ("value", asn1core.OctetString, {"explicit": 0}),
    ]


class _NtdsCaSecurityExt(asn1core.Sequence):  # type: ignore[misc]  # asn1crypto is untyped
    _fields = [("sid", _SidOtherName, {"implicit": 0})]


def ntds_security_extension(sid: str) -> x509.UnrecognizedExtension:
    """The szOID_NTDS_CA_SECURITY_EXT extension (KB5014754 strong mapping) carrying ``sid``.

    Structure, as AD CS writes it: SEQUENCE { [0] IMPLICIT otherName { OID 1.3.6.1.4.1.311.25.2.1,
    [0] EXPLICIT OCTET STRING <the SID in string form, ASCII> } }.
    """
    if not sid_is_valid(sid):
        raise ValueError(f"{sid!r} is not a Windows SID (S-1-5-21-...)")
    value = _NtdsCaSecurityExt(
        {"sid": _SidOtherName({"type_id": OID_NTDS_OBJECTSID.dotted_string, "value": sid.encode("ascii")})}
    )
    return x509.UnrecognizedExtension(OID_NTDS_CA_SECURITY_EXT, value.dump())
