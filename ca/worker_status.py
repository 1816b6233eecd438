"""What each CA worker says about itself: alive, and whether it can sign; and how long the ``ca`` queue is.

A CA worker writes its status every ``CERTPORTAL_CA_HEARTBEAT_INTERVAL`` seconds into the cache (Redis in
production, shared by every process), under one key per worker that expires after three intervals; an
index key names the workers seen. Readiness (``/readyz``) and the dashboard read them: a worker whose key
expired is gone, a worker whose CA keys cannot sign says so and why (``ca.services.key_checks``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any

from kombu.exceptions import ChannelError

from django.core.cache import cache
from django.utils import timezone

from ca.conf import ca_settings

__all__ = [
    "WorkerStatus",
    "ca_queue_length",
    "worker_status_remove",
    "worker_status_write",
    "worker_statuses_read",
]

_KEY = "certportal:ca-worker:{hostname}"
_INDEX = "certportal:ca-workers"


@dataclass(frozen=True)
class WorkerStatus:
    hostname: str
    pid: int
    #: True when the worker can sign with every CA's key and takes tasks from the queue.
    ready: bool
    #: Why it is not ready: one line per CA whose key cannot sign, or what else stopped it.
    problems: list[str] = field(default_factory=list)
    started_at: str = ""
    seen_at: str = ""

    def age(self, now: dt.datetime | None = None) -> float:
        """Seconds since the worker last wrote its status."""
        seen = dt.datetime.fromisoformat(self.seen_at) if self.seen_at else None
        return ((now or timezone.now()) - seen).total_seconds() if seen else float("inf")


def _ttl() -> int:
    return int(3 * ca_settings().CA_HEARTBEAT_INTERVAL) + 1


def worker_status_write(status: WorkerStatus) -> None:
    """Store ``status`` (stamped now) for three heartbeat intervals; the cache's error if it is down."""
    stamped = WorkerStatus(**{**asdict(status), "seen_at": timezone.now().isoformat()})
    cache.set(_KEY.format(hostname=status.hostname), asdict(stamped), timeout=_ttl())
    index: dict[str, str] = cache.get(_INDEX) or {}
    if status.hostname not in index:
        index[status.hostname] = stamped.seen_at
        cache.set(_INDEX, index, timeout=None)


def worker_status_remove(hostname: str) -> None:
    """A worker that stops says so: its status goes at once instead of expiring three intervals later."""
    cache.delete(_KEY.format(hostname=hostname))
    index: dict[str, str] = cache.get(_INDEX) or {}
    if index.pop(hostname, None) is not None:
        cache.set(_INDEX, index, timeout=None)


def worker_statuses_read() -> list[WorkerStatus]:
    """The status of every CA worker seen whose status has not expired, by hostname."""
    index: dict[str, str] = cache.get(_INDEX) or {}
    found: dict[str, Any] = cache.get_many([_KEY.format(hostname=hostname) for hostname in index])
    statuses = [WorkerStatus(**value) for value in found.values() if isinstance(value, dict)]
    return sorted(statuses, key=lambda status: status.hostname)


def ca_queue_length() -> int | None:
    """Messages waiting in the ``ca`` queue; None when it cannot be read (the embedded default has none)."""
    from celery import current_app  # noqa: PLC0415 - the app is configured by the project

    if current_app.conf.task_always_eager:
        return None
    with current_app.connection_for_read() as connection:
        try:
            channel: Any = connection.default_channel  # kombu's virtual channel; the stubs know less
            declared = channel.queue_declare(queue=ca_settings().CA_QUEUE, passive=True)
        except ChannelError:  # no such queue yet: nothing was ever sent to it
            return 0
        return int(declared.message_count)
