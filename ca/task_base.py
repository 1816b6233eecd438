"""The CA worker's tasks retry by themselves when a dependency is down.

A task on the ``ca`` queue that meets the database or the broker down (``core.outages``: a stale
connection after a PostgreSQL restart, PostgreSQL stopped, Redis restarting while the result is stored)
is retried after its database connections are closed, so that the retry opens fresh ones: with
exponential backoff (at most 2, 4, 8 ... 60 s; each wait between half of that and all of it), up to
``max_retries`` times. Without this a failed task was recovered only by the beat sweep minutes later, or
never with beat down. The services the tasks call are idempotent (an issued request is not issued twice,
a revocation request done is left as it is), so a retry after a failure at any point is safe. Other
errors are not retried: they are bugs or refusals, recorded by the task (20402 with its diagnostic code).

Tasks run in the calling process in the embedded default and the tests (eager): there the outage goes to
the caller, which answers 503, instead of being retried on the spot.

A killed worker's task is redelivered by the broker: ``acks_late`` with ``reject_on_worker_lost``
(``CELERY_TASK_ACKS_LATE``, ``CELERY_TASK_REJECT_ON_WORKER_LOST``), prefetch 1.
"""

from __future__ import annotations

import logging
import random
from typing import Any

from celery import Task
from django.db import connections

from core.outages import dependency_outage

__all__ = ["CaTask"]

logger = logging.getLogger(__name__)


class CaTask(Task[Any, Any]):
    max_retries = 8
    retry_backoff_max = 60

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().__call__(*args, **kwargs)
        except Exception as exc:
            outage = dependency_outage(exc)
            if outage is None or self.request.is_eager or self.request.called_directly:
                raise
            connections.close_all()  # the next attempt connects afresh
            retries = int(self.request.retries or 0)
            ceiling = min(self.retry_backoff_max, 2 ** (retries + 1))
            countdown = round(random.uniform(ceiling / 2, ceiling), 1)  # noqa: S311 - jitter, not a secret
            logger.warning(
                "%s: %s unavailable (%s); retry %d of %d in %.1f s",
                self.name, outage, exc, retries + 1, self.max_retries, countdown,
            )  # fmt: skip
            raise self.retry(exc=exc, countdown=countdown) from exc
