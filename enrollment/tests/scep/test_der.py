"""enrollment.scep.der: what it writes is the DER that asn1crypto reads back and writes itself."""

from __future__ import annotations

import pytest

from asn1crypto import core

from enrollment.scep import der


@pytest.mark.parametrize("length", [0, 1, 127, 128, 255, 256, 65535, 65536, 1 << 20])
def test_lengths_in_the_shortest_definite_form(length: int) -> None:
    contents = bytes(range(256)) * (length // 256) + bytes(range(length % 256))
    encoded = der.encode(der.OCTET_STRING, contents)
    assert encoded == core.OctetString(contents).dump()
    assert core.OctetString.load(encoded, strict=True).native == contents


def test_set_of_is_sorted_as_der_requires() -> None:
    elements = [core.OctetString(b"\xff").dump(), core.Integer(5).dump(), core.OctetString(b"\x00").dump()]
    encoded = der.set_of(elements)
    assert encoded[0] == der.SET
    assert encoded == der.encode(der.SET, b"".join(sorted(elements)))
    implicit = der.set_of(elements, tag=der.CONTEXT_0)
    assert implicit[1:] == encoded[1:]
    assert implicit[0] == 0xA0


def test_sequence_and_object_identifier() -> None:
    encoded = der.sequence(der.object_identifier("1.2.840.113549.1.7.1"), core.Null().dump())
    parsed = core.Sequence.load(encoded, strict=True)
    assert parsed[0].dump() == core.ObjectIdentifier("1.2.840.113549.1.7.1").dump()
    assert parsed[1].dump() == b"\x05\x00"
