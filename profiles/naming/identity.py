"""Which parts of a profile's subject and SANs name a fixed identity: static text (no variable) in a UPN,
email, DNS or URI SAN, or in a subject attribute that Active Directory maps to an account (emailAddress,
UID). A profile like that issues every holder the same identity, e.g. ``UPN=administrator@corp``: saving
it needs the certificate manager's right (``profiles.name_static_identity``).
"""

from __future__ import annotations

from collections.abc import Sequence

from cryptography.x509.oid import NameOID

from profiles.naming.sans import SanTemplate, SanType
from profiles.naming.subject import SubjectFormat

__all__ = ["static_identities"]

#: Subject attributes an AD certificate mapping can read as an account (altSecurityIdentities, KB5014754).
_IDENTITY_ATTRIBUTES = {NameOID.EMAIL_ADDRESS: "E", NameOID.USER_ID: "UID"}
_IDENTITY_SANS = frozenset({SanType.UPN, SanType.EMAIL, SanType.DNS, SanType.URI})


def static_identities(subject: SubjectFormat | None, sans: Sequence[SanTemplate]) -> tuple[str, ...]:
    """``("UPN=administrator@corp.example.com", "E=root@corp")``: each fixed identity, as written."""
    found: list[str] = []
    for rdn in subject.rdns if subject is not None else ():
        for attribute in rdn.attributes:
            key = _IDENTITY_ATTRIBUTES.get(attribute.oid)
            if key is not None and attribute.value.is_static and str(attribute.value):
                found.append(f"{key}={attribute.value}")
    for san in sans:
        if san.san_type in _IDENTITY_SANS and san.value.is_static and str(san.value):
            found.append(f"{san.san_type.label}={san.value}")
    return tuple(found)
