"""ca.crypto.serials: random, positive serials of at most 20 octets, shown as Windows shows them."""

from __future__ import annotations

import pytest

from asn1crypto.core import Integer

from ca.crypto.serials import random_serial, serial_to_hex


def test_random_serials_are_positive_and_fit_in_twenty_octets():
    serials = [random_serial() for _ in range(2000)]
    for serial in serials:
        assert 0 < serial < 2**159
        # DER INTEGER content octets, sign octet included (RFC 5280 4.1.2.2: at most 20).
        assert len(Integer(serial).contents) <= 20
    assert len(set(serials)) == len(serials)


def test_random_serials_carry_well_over_64_bits_of_entropy():
    # Half of 159-bit draws have a bit length of 159; 200 draws all below 2**64 would be ~2**-19000.
    assert max(random_serial() for _ in range(200)).bit_length() > 150


def test_largest_serial_still_fits_in_twenty_octets():
    assert len(Integer(2**159 - 1).contents) == 20


@pytest.mark.parametrize(
    ("serial", "text"),
    [
        (1, "01"),
        (0xF, "0F"),
        (0xFF, "FF"),
        (0x80, "80"),
        (0x100, "0100"),
        (0xABC, "0ABC"),
        (0x1234567890ABCDEF, "1234567890ABCDEF"),
        (2**159 - 1, "7F" + "FF" * 19),
    ],
)
def test_serial_to_hex_is_upper_case_even_length_without_extra_zeros(serial, text):
    assert serial_to_hex(serial) == text
    assert int(text, 16) == serial


def test_serial_to_hex_round_trips_random_serials():
    for _ in range(200):
        serial = random_serial()
        text = serial_to_hex(serial)
        assert len(text) % 2 == 0
        assert text == text.upper()
        assert not text.startswith("00")
        assert int(text, 16) == serial
