"""The few DER encodings (X.690) that SignedData assembly needs, written directly.

Building a SignedData as asn1crypto objects and dumping it cost about 3 ms per CertRep (and as much per
request in the client): asn1crypto validates and re-encodes every nested value it is given, the embedded
certificates included. The outer structure of a SignedData is a handful of SEQUENCEs, SETs and OCTET
STRINGs around values that are already DER (certificates, names, algorithm identifiers, attribute values
encoded once by asn1crypto), so it is written here: tag, definite length, contents. Parsing stays with
asn1crypto (``schema``), which reads what is written here in the tests.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

from asn1crypto import core

__all__ = [
    "CONTEXT_0",
    "INTEGER",
    "OCTET_STRING",
    "SEQUENCE",
    "SET",
    "encode",
    "object_identifier",
    "sequence",
    "set_of",
]

INTEGER = 0x02
OCTET_STRING = 0x04
SEQUENCE = 0x30
SET = 0x31
#: [0] IMPLICIT, constructed: SignedData's certificates, SignerInfo's signedAttrs, ContentInfo's content.
CONTEXT_0 = 0xA0


def encode(tag: int, contents: bytes) -> bytes:
    """One TLV with a definite length in the shortest form (DER)."""
    length = len(contents)
    if length < 0x80:
        return bytes((tag, length)) + contents
    octets = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes((tag, 0x80 | len(octets))) + octets + contents


def sequence(*elements: bytes) -> bytes:
    return encode(SEQUENCE, b"".join(elements))


def set_of(elements: Iterable[bytes], *, tag: int = SET) -> bytes:
    """A SET OF in DER: the encodings sorted (X.690 §11.6), as a signature over signedAttrs requires."""
    return encode(tag, b"".join(sorted(elements)))


@lru_cache(maxsize=256)
def object_identifier(dotted: str) -> bytes:
    """The DER of an OBJECT IDENTIFIER (from asn1crypto, once per OID)."""
    return bytes(core.ObjectIdentifier(dotted).dump())
