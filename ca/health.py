"""How the CA worker and its queue are doing, for the dashboard.

What waits for the CA worker in the database (certificate and revocation requests queued, and since when),
which does not depend on the broker (the workers' own heartbeats join it when they are recorded). In the
embedded default the web process is the CA worker: there is no worker to watch.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from celery import current_app
from django.db.models import Min
from django.utils import timezone

from ca.choices import CertificateRequestStatus, RevocationRequestStatus
from ca.conf import ca_settings
from ca.models import CertificateRequest, RevocationRequest

__all__ = ["CaWorkerHealth", "ca_worker_health_get"]


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


def _embedded() -> bool:
    return bool(current_app.conf.task_always_eager)


def ca_worker_health_get(*, now: dt.datetime | None = None) -> CaWorkerHealth:
    now = now or timezone.now()
    embedded = _embedded()
    workers: tuple[WorkerLine, ...] = ()
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
        broker_queue_length=None,
        queue_name=ca_settings().CA_QUEUE,
    )
