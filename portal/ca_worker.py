"""The CA worker's self-check and heartbeat: a worker that cannot sign says so and takes no tasks.

When a worker serving the ``ca`` queue is ready (``portal.celery``), ``CaWorkerMonitor.start`` asks
``ca.services.key_checks`` whether every enabled CA's key can sign. If one cannot (a wrong
``CERTPORTAL_CA_KEY_PASSPHRASE``, a missing key file, the database unreachable at start):

* the worker stops consuming the ``ca`` queue at once (``cancel_task_queue``), so queued requests wait in
  the broker for a worker that can sign instead of being taken and failed one by one;
* the event log gets 10010 StartedConnectorService at error level with 0x00000400
  (PKCS_Issue_CA_Unavailable) and the reason per CA, and the worker's log an error;
* its heartbeat says ``ready: false`` with the problems, which ``/readyz`` reports.

A heartbeat thread writes the worker's status every ``CERTPORTAL_CA_HEARTBEAT_INTERVAL`` seconds
(``ca.worker_status``). While the worker is not ready it checks again each time; when the check passes
(the database is back; a key file restored) it takes the queue again (a remote-control ``add_consumer``
to itself, which the worker's own event loop carries out) and records 10010 at information level. A wrong
passphrase stays wrong until the worker is restarted with the right one.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Any

from django.db import connections
from django.utils import timezone

from ca.conf import ca_settings
from ca.services.key_checks import authority_keys_check
from ca.worker_status import WorkerStatus, worker_status_remove, worker_status_write
from core.outages import dependency_outage
from eventlog.choices import DiagnosticCode, EventId, EventLevel
from eventlog.services import event_record

__all__ = ["CaWorkerMonitor"]

logger = logging.getLogger(__name__)


def _problems(*, in_thread: bool) -> list[str]:
    """One line per CA whose key cannot sign; or why the keys could not be checked at all. In the heartbeat
    thread its database connections are closed afterwards (the worker's main thread keeps its own).
    """
    try:
        return [f"{problem.slug}: {problem.reason}" for problem in authority_keys_check()]
    except Exception as exc:
        outage = dependency_outage(exc)
        if outage is None:
            logger.exception("the CA key check failed")
        return [f"the CA keys cannot be checked: {outage or type(exc).__name__}: {exc}"]
    finally:
        if in_thread:
            connections.close_all()  # this thread's connections; the next check opens fresh ones


class CaWorkerMonitor:
    def __init__(self, consumer: Any) -> None:
        self.consumer = consumer
        self.app = consumer.app
        self.hostname = str(consumer.hostname)
        self.queue = ca_settings().CA_QUEUE
        self.started_at = timezone.now().isoformat()
        self.problems: list[str] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def ready(self) -> bool:
        return not self.problems

    def start(self) -> None:
        """Check the keys (in the worker's main thread, before it takes a task), then beat in a thread."""
        self.problems = _problems(in_thread=False)
        if self.problems:
            self.consumer.cancel_task_queue(self.queue)
            self._record_not_ready()
        self._beat()
        self._thread = threading.Thread(target=self._loop, name="certportal-ca-heartbeat", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        try:
            worker_status_remove(self.hostname)
        except Exception as exc:  # Redis down: the status expires by itself
            logger.warning("CA worker status not removed: %s", exc)

    def _loop(self) -> None:
        interval = ca_settings().CA_HEARTBEAT_INTERVAL
        while not self._stop.wait(interval):
            if self.problems:
                self._check_again()
            self._beat()

    def _check_again(self) -> None:
        problems = _problems(in_thread=True)
        if problems:
            self.problems = problems
            return
        try:
            self.app.control.add_consumer(self.queue, destination=[self.hostname])
        except Exception as exc:  # the broker is down too: try again at the next beat
            logger.warning("the CA keys can sign again, but the queue cannot be resumed yet: %s", exc)
            return
        self.problems = []
        logger.info("CA worker %s can sign again and takes the %s queue", self.hostname, self.queue)
        self._record(
            level=EventLevel.INFORMATION,
            message=f"connector service ready: CA worker {self.hostname} can sign with every CA key again",
            code=DiagnosticCode.SUCCESS,
        )

    def _beat(self) -> None:
        status = WorkerStatus(
            hostname=self.hostname,
            pid=os.getpid(),
            ready=self.ready,
            problems=list(self.problems),
            started_at=self.started_at,
        )
        try:
            worker_status_write(status)
        except Exception as exc:  # Redis down: readiness will say the worker is gone, which is the truth
            logger.warning("CA worker heartbeat not written: %s", exc)

    def _record_not_ready(self) -> None:
        summary = "; ".join(self.problems)
        logger.error(
            "CA worker %s cannot sign and takes no tasks from the %s queue: %s",
            self.hostname,
            self.queue,
            summary,
        )
        self._record(
            level=EventLevel.ERROR,
            message=f"connector service started but not ready: CA worker {self.hostname} cannot sign: "
            f"{summary}",
            code=DiagnosticCode.PKCS_ISSUE_CA_UNAVAILABLE,
        )

    def _record(self, *, level: EventLevel, message: str, code: DiagnosticCode) -> None:
        try:
            event_record(
                event_id=EventId.STARTED_CONNECTOR_SERVICE,
                level=level,
                message=message,
                diagnostic_code=code,
                details={"hostname": self.hostname, "problems": list(self.problems), "pid": os.getpid()},
            )
        except Exception as exc:  # the database is what is down: the log has it
            logger.error("event not recorded (%s): %s", exc, message)
        finally:
            if threading.current_thread() is self._thread:
                connections.close_all()
