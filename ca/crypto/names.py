"""JSON forms of ``x509.Name`` and ``x509.GeneralName``.

A certificate request travels from the RA to the CA worker as JSON (Celery's only serializer) and is
stored the same way, so the subject and SANs chosen by policy must survive a round trip exactly,
including each attribute's ASN.1 string type.
"""

from __future__ import annotations

import base64
import ipaddress
from typing import Any

from cryptography import x509
from cryptography.x509.name import _ASN1Type
from cryptography.x509.oid import ObjectIdentifier

from ca.crypto.identities import OID_UPN, upn_from_general_name

__all__ = [
    "general_name_from_json",
    "general_name_to_json",
    "general_name_to_text",
    "name_from_json",
    "name_to_json",
]

JsonName = list[list[dict[str, Any]]]


def name_to_json(name: x509.Name) -> JsonName:
    return [
        [{"oid": a.oid.dotted_string, "value": a.value, "type": a._type.value} for a in rdn]
        for rdn in name.rdns
    ]


def name_from_json(data: JsonName) -> x509.Name:
    rdns = []
    for rdn in data:
        attributes = [
            x509.NameAttribute(ObjectIdentifier(a["oid"]), a["value"], _type=_ASN1Type(int(a["type"])))
            for a in rdn
        ]
        rdns.append(x509.RelativeDistinguishedName(attributes))
    return x509.Name(rdns)


def general_name_to_json(name: x509.GeneralName) -> dict[str, Any]:
    if isinstance(name, x509.DNSName):
        return {"type": "dns", "value": name.value}
    if isinstance(name, x509.RFC822Name):
        return {"type": "email", "value": name.value}
    if isinstance(name, x509.UniformResourceIdentifier):
        return {"type": "uri", "value": name.value}
    if isinstance(name, x509.IPAddress):
        return {"type": "ip", "value": str(name.value)}
    if isinstance(name, x509.OtherName):
        return {
            "type": "other",
            "oid": name.type_id.dotted_string,
            "value": base64.b64encode(name.value).decode("ascii"),
        }
    if isinstance(name, x509.RegisteredID):
        return {"type": "rid", "value": name.value.dotted_string}
    if isinstance(name, x509.DirectoryName):
        return {"type": "dirname", "value": name_to_json(name.value)}
    raise ValueError(f"unsupported general name {type(name).__name__}")


def general_name_from_json(data: dict[str, Any]) -> x509.GeneralName:
    kind, value = data["type"], data["value"]
    if kind == "dns":
        return x509.DNSName(value)
    if kind == "email":
        return x509.RFC822Name(value)
    if kind == "uri":
        return x509.UniformResourceIdentifier(value)
    if kind == "ip":
        return x509.IPAddress(ipaddress.ip_address(value))
    if kind == "other":
        return x509.OtherName(ObjectIdentifier(data["oid"]), base64.b64decode(value))
    if kind == "rid":
        return x509.RegisteredID(ObjectIdentifier(value))
    if kind == "dirname":
        return x509.DirectoryName(name_from_json(value))
    raise ValueError(f"unsupported general name type {kind!r}")


def general_name_to_text(name: x509.GeneralName) -> str:
    """Readable ``TYPE:value`` form for lists and the admin (UPN decoded)."""
    if isinstance(name, x509.DNSName):
        return f"DNS:{name.value}"
    if isinstance(name, x509.RFC822Name):
        return f"email:{name.value}"
    if isinstance(name, x509.UniformResourceIdentifier):
        return f"URI:{name.value}"
    if isinstance(name, x509.IPAddress):
        return f"IP:{name.value}"
    if isinstance(name, x509.OtherName) and name.type_id == OID_UPN:
        return f"UPN:{_der_utf8(name.value)}"
    if isinstance(name, x509.OtherName):
        return f"otherName:{name.type_id.dotted_string}"
    if isinstance(name, x509.RegisteredID):
        return f"RID:{name.value.dotted_string}"
    if isinstance(name, x509.DirectoryName):
        return f"dirName:{name.value.rfc4514_string()}"
    return repr(name)  # pragma: no cover


def _der_utf8(der: bytes) -> str:
    upn = upn_from_general_name(x509.OtherName(OID_UPN, der))
    return upn if upn is not None else der.hex()
