"""Subject names as CertStrToName strings, for devices that build their own request (Windows ``SubjectName``).

Pure (no Django). The syntax is the one :func:`profiles.naming.subject.parse_subject_format` reads, and
values are quoted with its :func:`~profiles.naming.subject.quote_value`, so parsing the output gives
back the same RDNs.
"""

from __future__ import annotations

from typing import Final

from cryptography import x509
from cryptography.x509.oid import NameOID, ObjectIdentifier

from profiles.naming.subject import quote_value
from profiles.naming.variables import RenderError

__all__ = ["x500_subject_string"]

# Key written per attribute. Only keys of the CertStrToName table; anything else (including
# serialNumber, whose CertStrToName key is unverified) is written as a dotted OID, which it accepts.
_KEYS: Final[dict[ObjectIdentifier, str]] = {
    NameOID.COMMON_NAME: "CN",
    NameOID.LOCALITY_NAME: "L",
    NameOID.ORGANIZATION_NAME: "O",
    NameOID.ORGANIZATIONAL_UNIT_NAME: "OU",
    NameOID.EMAIL_ADDRESS: "E",
    NameOID.COUNTRY_NAME: "C",
    NameOID.STATE_OR_PROVINCE_NAME: "S",
    NameOID.STREET_ADDRESS: "STREET",
    NameOID.TITLE: "T",
    NameOID.GIVEN_NAME: "G",
    NameOID.INITIALS: "I",
    NameOID.SURNAME: "SN",
    NameOID.DOMAIN_COMPONENT: "DC",
}


def x500_subject_string(name: x509.Name) -> str:
    """``name`` as a CertStrToName string (``CN=x, OU="a, b"``), RDNs in encoded order.

    Values with leading/trailing whitespace or any of ``, = + ; " < > #`` are double-quoted with ``""``
    escapes (Intune: quote rather than backslash-escape). Parsing the result with
    :func:`~profiles.naming.subject.parse_subject_format` gives back the same RDNs (as long as it has no
    curly brackets).

    Raises:
        RenderError: an attribute has a binary value.
    """
    rdns: list[str] = []
    for rdn in name.rdns:
        attributes: list[str] = []
        for attribute in rdn:
            if not isinstance(attribute.value, str):
                raise RenderError(f"attribute {attribute.oid.dotted_string} has a binary value")
            key = _KEYS.get(attribute.oid, attribute.oid.dotted_string)
            attributes.append(f"{key}={quote_value(attribute.value)}")
        rdns.append(" + ".join(attributes))
    return ", ".join(rdns)
