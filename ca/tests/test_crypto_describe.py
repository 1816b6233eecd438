"""The decoded certificate the admin shows (ca.crypto.describe): pure, no database."""

from __future__ import annotations

import datetime as dt

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import NameOID

from ca.crypto.describe import certificate_describe, subject_text_readable
from ca.crypto.serials import serial_to_hex


def _certificate(key, serial: int) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "described")])
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )


def test_the_serial_is_shown_as_it_is_stored_and_listed(rsa2048_key):
    """An odd number of hex digits gets a leading zero, as the stored serial, the list and Windows have it."""
    described = certificate_describe(_certificate(rsa2048_key, 0x5AA6D))

    assert described.serial == serial_to_hex(0x5AA6D) == "05AA6D"


def test_a_stored_subject_reads_with_attribute_names():
    assert subject_text_readable("1.2.840.113549.1.9.1=jdoe@corp.example.com,CN=jdoe") == (
        "E=jdoe@corp.example.com, CN=jdoe"
    )
