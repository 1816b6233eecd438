"""Certificate serial numbers (RFC 5280 4.1.2.2)."""

from __future__ import annotations

import secrets

__all__ = ["random_serial", "serial_to_hex"]


def random_serial() -> int:
    """A positive serial of at most 20 octets with 159 bits from the CSPRNG (CA/B Forum asks for 64+)."""
    while True:
        serial = secrets.randbits(159)
        if serial:
            return serial


def serial_to_hex(serial: int) -> str:
    """Upper-case hex without leading zeros, as Windows and ``openssl x509 -serial`` show it (even length)."""
    text = f"{serial:X}"
    return text if len(text) % 2 == 0 else "0" + text
