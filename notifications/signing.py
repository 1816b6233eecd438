"""The webhook signature (pure: standard library only), the same scheme as Stripe's.

Each request carries ``X-Certportal-Signature: t=<unix time>,v1=<hex>`` where ``<hex>`` is
HMAC-SHA256, keyed with ``CERTPORTAL_NOTIFY_WEBHOOK_SECRET``, over the bytes ``<t>.<raw body>``. A receiver
verifies it so:

1. read the raw request body (before any JSON parsing) and the header; split the header on ``,`` and each
   part on the first ``=``;
2. compute ``HMAC-SHA256(secret, t + "." + body)`` in hex and compare it with ``v1`` in constant time
   (Python: ``hmac.compare_digest``);
3. refuse a ``t`` more than five minutes from its own clock (a replayed request), and optionally remember
   the body's ``id`` (also in ``X-Certportal-Delivery``) to drop a retransmission.

:func:`signature_verify` does exactly that and can be copied into a receiver.
"""

from __future__ import annotations

import hashlib
import hmac
import time

__all__ = [
    "DELIVERY_HEADER",
    "EVENT_HEADER",
    "SIGNATURE_HEADER",
    "SIGNATURE_TOLERANCE",
    "signature_header",
    "signature_verify",
]

SIGNATURE_HEADER = "X-Certportal-Signature"
EVENT_HEADER = "X-Certportal-Event"
DELIVERY_HEADER = "X-Certportal-Delivery"

#: How far a receiver should accept the signature's timestamp from its own clock (seconds).
SIGNATURE_TOLERANCE = 300


def _digest(secret: bytes, timestamp: int, body: bytes) -> str:
    return hmac.new(secret, f"{timestamp}.".encode("ascii") + body, hashlib.sha256).hexdigest()


def signature_header(*, secret: bytes, body: bytes, timestamp: int) -> str:
    """The value of ``X-Certportal-Signature`` for ``body`` sent at ``timestamp`` (Unix seconds)."""
    return f"t={timestamp},v1={_digest(secret, timestamp, body)}"


def signature_verify(
    *,
    secret: bytes,
    body: bytes,
    header: str,
    now: float | None = None,
    tolerance: int = SIGNATURE_TOLERANCE,
) -> bool:
    """Whether ``header`` signs ``body`` with ``secret`` and its timestamp is within ``tolerance``."""
    fields: dict[str, list[str]] = {}
    for part in header.split(","):
        name, sep, value = part.strip().partition("=")
        if sep:
            fields.setdefault(name, []).append(value)
    try:
        (timestamp_text,) = fields["t"]
        timestamp = int(timestamp_text)
    except (KeyError, ValueError):
        return False
    if abs((time.time() if now is None else now) - timestamp) > tolerance:
        return False
    expected = _digest(secret, timestamp, body)
    return any(hmac.compare_digest(expected, candidate) for candidate in fields.get("v1", []))
