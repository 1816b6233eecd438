"""How the CA worker and its queue are doing, for the dashboard.

The heartbeat is the CA workers' own (``ca.worker_status``: each worker writes its status to the cache every
``CERTPORTAL_CA_HEARTBEAT_INTERVAL`` seconds); the broker's length of the ``ca`` queue comes from there too.
Added here: what waits for the CA worker in the database (certificate and revocation requests queued, and
since when), which does not depend on the broker. In the embedded default the web process is the CA worker:
there is no worker to watch.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from celery import current_app
from django.db.models import Min
from django.utils import timezone

from ca.choices import CertificateRequestStatus, RevocationRequestStatus
from ca.conf import ca_settings
from ca.models import CertificateRequest, RevocationRequest
from ca.worker_status import WorkerStatus, ca_queue_length, worker_statuses_read

__all__ = ["CaWorkerHealth", "ca_worker_health_get"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class WorkerLine:
    hostname: str
    ready: bool
    seen_seconds_ago: float
    problems: tuple[str, ...]


@dataclass(frozen=True)
class CaWorkerHealth:
    embedded: bool
    workers: tuple[WorkerLine, ...]
    requests_queued: int
    revocations_queued: int
    oldest_queued_at: dt.datetime | None
    broker_queue_length: int | None
    queue_name: str

    @property
    def healthy(self) -> bool:
        return self.embedded or any(worker.ready for worker in self.workers)


def _line(status: WorkerStatus, now: dt.datetime) -> WorkerLine:
    return WorkerLine(
        hostname=status.hostname,
        ready=status.ready,
        seen_seconds_ago=status.age(now),
        problems=tuple(status.problems),
    )


def _embedded() -> bool:
    return bool(current_app.conf.task_always_eager)


def _queue_length() -> int | None:
    try:
        return ca_queue_length()
    except Exception:  # the dashboard says "unknown"; it must not fail with the broker
        logger.debug("could not read the CA queue's length", exc_info=True)
        return None


def ca_worker_health_get(*, now: dt.datetime | None = None, probe_broker: bool = True) -> CaWorkerHealth:
    now = now or timezone.now()
    embedded = _embedded()
    try:
        workers = tuple(_line(status, now) for status in worker_statuses_read())
    except Exception:  # the cache is down: no worker can be seen
        logger.debug("could not read the CA workers' status", exc_info=True)
        workers = ()
    requests = CertificateRequest.objects.filter(status=CertificateRequestStatus.QUEUED)
    revocations = RevocationRequest.objects.filter(status=RevocationRequestStatus.QUEUED)
    oldest = [
        value
        for value in (
            requests.aggregate(oldest=Min("updated_at"))["oldest"],
            revocations.aggregate(oldest=Min("created_at"))["oldest"],
        )
        if value is not None
    ]
    return CaWorkerHealth(
        embedded=embedded,
        workers=workers,
        requests_queued=requests.count(),
        revocations_queued=revocations.count(),
        oldest_queued_at=min(oldest) if oldest else None,
        broker_queue_length=None if embedded or not probe_broker else _queue_length(),
        queue_name=ca_settings().CA_QUEUE,
    )
