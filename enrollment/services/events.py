"""The event log: one row per SCEP operation outcome, with the connector's event IDs."""

from __future__ import annotations

import logging
from typing import Any

from django.db import DatabaseError

from enrollment.choices import EventId, EventLevel
from enrollment.models import EnrollmentEvent, ScepService, ScepTransaction

__all__ = ["event_record"]

logger = logging.getLogger("enrollment.events")

_LOG_LEVELS = {
    EventLevel.INFORMATION: logging.INFO,
    EventLevel.WARNING: logging.WARNING,
    EventLevel.ERROR: logging.ERROR,
}


def event_record(
    *,
    event_id: EventId,
    message: str,
    level: EventLevel = EventLevel.INFORMATION,
    service: ScepService | None = None,
    transaction: ScepTransaction | None = None,
    transaction_id: str = "",
    message_type: int | None = None,
    fail_info: int | None = None,
    diagnostic_code: int | None = None,
    client_address: str | None = None,
    details: dict[str, Any] | None = None,
) -> EnrollmentEvent | None:
    """Write an event (and the same line to the log). Returns None if the database refused it:
    recording must not turn a client's answer into a 500.
    """
    safe_message = _printable(message, 1024)
    logger.log(
        _LOG_LEVELS[level],
        "event %s %s tid=%s type=%s failInfo=%s client=%s",
        int(event_id),
        safe_message,
        _printable(transaction_id, 64),
        message_type,
        fail_info,
        client_address,
    )
    try:
        return EnrollmentEvent.objects.create(
            event_id=event_id,
            level=level,
            message=safe_message,
            service=service,
            scep_transaction=transaction,
            transaction_id=_printable(transaction_id, 128),
            message_type=message_type,
            fail_info=fail_info,
            diagnostic_code=diagnostic_code,
            client_address=client_address,
            details=details or {},
        )
    except DatabaseError:
        logger.exception("could not record event %s", int(event_id))
        return None


def _printable(text: str, limit: int) -> str:
    """Escape control characters and truncate: what a client sends is written to logs and the admin."""
    cleaned = "".join(ch if ch.isprintable() else f"\\x{ord(ch):02x}" for ch in text)
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"
