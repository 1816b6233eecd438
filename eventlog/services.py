"""Recording an event: one row in the connector's log and the same line in the Python log."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping, Sequence
from typing import Any, TypedDict

from typing_extensions import Unpack

from django.conf import settings
from django.db import DatabaseError, models
from django.utils import timezone
from django.utils.module_loading import import_string

from eventlog.choices import DiagnosticCode, EventId, EventLevel
from eventlog.conf import eventlog_settings
from eventlog.models import ConnectorEvent
from eventlog.syslog import event_stream

__all__ = ["EventLinks", "EventPruneObserver", "event_prune", "event_prune_observers", "event_record"]

logger = logging.getLogger("eventlog")

_LOG_LEVELS = {
    EventLevel.INFORMATION: logging.INFO,
    EventLevel.WARNING: logging.WARNING,
    EventLevel.ERROR: logging.ERROR,
}


class EventLinks(TypedDict, total=False):
    """What an event is about: plain values (ids, names), never model instances, so that every app,
    the CA included, can record events.
    """

    service_slug: str
    scep_transaction_id: int | None
    transaction_id: str
    message_type: int | None
    fail_info: int | None
    client_address: str | None
    device_id: int | None
    device_external_id: str
    user_id: int | None
    user_principal_name: str
    authority_slug: str
    ca_name: str
    template_name: str
    serial: str
    thumbprint: str


def _max_length(name: str) -> int:
    field = ConnectorEvent._meta.get_field(name)
    return field.max_length or 0 if isinstance(field, models.Field) else 0


_TEXT_LINKS: dict[str, int] = {
    name: _max_length(name)
    for name in (
        "service_slug",
        "transaction_id",
        "device_external_id",
        "user_principal_name",
        "authority_slug",
        "ca_name",
        "template_name",
        "serial",
        "thumbprint",
    )
}
_INTEGER_LINKS = frozenset({"scep_transaction_id", "message_type", "fail_info", "device_id", "user_id"})
#: Links written to the Python log line, when set.
_LOGGED_LINKS = ("transaction_id", "message_type", "fail_info", "client_address", "device_id", "serial")


def event_record(
    *,
    event_id: EventId | int,
    message: str,
    level: EventLevel = EventLevel.INFORMATION,
    diagnostic_code: DiagnosticCode | int | None = None,
    details: Mapping[str, Any] | None = None,
    **links: Unpack[EventLinks],
) -> ConnectorEvent | None:
    """Write an event, and the same line to the log (logger ``eventlog``).

    What a client sent is never trusted: control characters are escaped and every text is cut to its
    column. Returns None, after logging, if the database refused the row: recording must not turn a
    device's answer into a 500. (Inside a transaction that is later rolled back, the row goes with it:
    record after the work is committed where that matters.)
    """
    values: dict[str, Any] = {}
    for name, value in links.items():
        if name in _TEXT_LINKS:
            if not isinstance(value, str):
                raise TypeError(f"event link {name} must be a string, not {type(value).__name__}")
            values[name] = _printable(value, _TEXT_LINKS[name])
        elif name in _INTEGER_LINKS:
            if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
                raise TypeError(f"event link {name} must be an integer, not {type(value).__name__}")
            values[name] = value
        elif name == "client_address":
            values[name] = value or None
        else:
            raise TypeError(f"unknown event link {name}")
    safe_message = _printable(message, 1024)
    code = int(diagnostic_code) if diagnostic_code is not None else None
    logger.log(
        _LOG_LEVELS[EventLevel(level)],
        "event %s %s code=%s %s",
        int(event_id),
        safe_message,
        f"0x{code:08X}" if code is not None else "-",
        " ".join(f"{name}={values[name]}" for name in _LOGGED_LINKS if values.get(name) not in (None, "")),
    )
    try:
        event: ConnectorEvent | None = ConnectorEvent.objects.create(
            event_id=int(event_id),
            level=level,
            message=safe_message,
            diagnostic_code=code,
            details=dict(details) if details else {},
            **values,
        )
    except DatabaseError:
        logger.exception("could not record event %s", int(event_id))
        event = None
    syslog = eventlog_settings().EVENT_SYSLOG
    if syslog:  # streamed also when the row could not be written: the SIEM keeps what the database lost
        event_stream(
            url=syslog,
            event_id=int(event_id),
            name=_event_name(int(event_id)),
            level=str(level),
            message=safe_message,
            diagnostic_code=code,
            links=values,
            record_id=event.pk if event is not None else None,
            created_at=event.created_at if event is not None else None,
        )
    return event


def _event_name(event_id: int) -> str:
    try:
        return str(EventId(event_id).label)
    except ValueError:
        return str(event_id)


def _printable(text: str, limit: int) -> str:
    """Escape control characters and truncate: what a client sends is written to logs and the admin."""
    cleaned = "".join(ch if ch.isprintable() else f"\\x{ord(ch):02x}" for ch in text)
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"


#: Rows deleted per statement by ``event_prune``: short statements, no long lock on a large log.
PRUNE_BATCH = 5000


class EventPruneObserver:
    """Told before the retention job deletes events: how far it may go. Listed by import path in
    ``CERTPORTAL_EVENT_PRUNE_OBSERVERS`` (the audit log's hash chain keeps an anchor there); the event log
    imports none of them.
    """

    def events_pruning(self, *, through_id: int) -> int:
        """The events with ids up to ``through_id`` are about to be deleted: return the id up to which they
        may be (``through_id`` or less).
        """
        return through_id


def event_prune_observers() -> list[EventPruneObserver]:
    paths: Sequence[str] = getattr(settings, "CERTPORTAL_EVENT_PRUNE_OBSERVERS", ())
    return [import_string(path)() for path in paths]


def event_prune(*, older_than: dt.timedelta, now: dt.datetime | None = None) -> int:
    """Delete the events recorded before ``now - older_than``, from the old end, in batches; how many went.

    The old end is in id order: the rows before the first one that is recent enough, so that what remains
    is always the newest part of the log (a row with an older time written after a newer one waits for the
    next run). The observers may stop the deletion earlier.
    """
    cutoff = (now or timezone.now()) - older_than
    first_kept = (
        ConnectorEvent.objects.filter(created_at__gte=cutoff)
        .order_by("pk")
        .values_list("pk", flat=True)
        .first()
    )
    if first_kept is not None:
        through_id = first_kept - 1
    else:
        through_id = ConnectorEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    if not ConnectorEvent.objects.filter(pk__lte=through_id).exists():
        return 0
    for observer in event_prune_observers():
        through_id = min(through_id, observer.events_pruning(through_id=through_id))
    deleted = 0
    while True:
        batch = list(
            ConnectorEvent.objects.filter(pk__lte=through_id)
            .order_by("pk")
            .values_list("pk", flat=True)[:PRUNE_BATCH]
        )
        if not batch:
            break
        deleted += ConnectorEvent.objects.filter(pk__in=batch).delete()[0]
    if deleted:
        logger.info("deleted %s event(s) recorded before %s", deleted, cutoff.isoformat())
    return deleted
