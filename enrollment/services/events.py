"""Events of a SCEP service: the connector's event log (``eventlog``) with the service and the transaction
filled in as links.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from typing_extensions import Unpack

from enrollment.models import ScepService, ScepTransaction
from eventlog.choices import DiagnosticCode, EventId, EventLevel
from eventlog.models import ConnectorEvent
from eventlog.services import EventLinks, event_record

__all__ = ["scep_event_record"]


def scep_event_record(
    *,
    event_id: EventId,
    message: str,
    service: ScepService,
    level: EventLevel = EventLevel.INFORMATION,
    transaction: ScepTransaction | None = None,
    diagnostic_code: DiagnosticCode | int | None = None,
    details: Mapping[str, Any] | None = None,
    **links: Unpack[EventLinks],
) -> ConnectorEvent | None:
    """Record an event of ``service`` (and of ``transaction``: its id and transactionID), as
    ``eventlog.services.event_record`` does: never raises on a database error.
    """
    if transaction is not None:
        links["scep_transaction_id"] = transaction.pk
        links.setdefault("transaction_id", transaction.transaction_id)
    links["service_slug"] = service.slug
    return event_record(
        event_id=event_id,
        message=message,
        level=level,
        diagnostic_code=diagnostic_code,
        details=details,
        **links,
    )
