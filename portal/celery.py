"""The Celery app.

Queues: ``ca`` carries every task that needs a CA private key (issue, revoke, CRL) and is served
only by the CA worker (``celery -A portal worker -Q ca``), the one process given the CA key
passphrase; ``default`` carries the rest. With no broker configured the tasks run in the calling
process (``CELERY_TASK_ALWAYS_EAGER``), which is the embedded default.

A worker that serves the CA queue is the connector service: its start and stop are recorded in the event
log (10010 StartedConnectorService, 10020 StoppedConnectorService) by Celery's ``worker_ready`` and
``worker_shutdown`` signals. These are hooks of the process's life, not domain side effects.

Every task carries the request id of whoever sent it and has its wait and run times measured
(``portal.task_hooks``). A worker started with ``CERTPORTAL_METRICS_PORT`` serves its processes' metrics
on that port (``portal.metrics_server``): the pool's processes write them to ``PROMETHEUS_MULTIPROC_DIR``, a
fresh private directory unless it is set, which must be known before any metric exists, hence here.
"""

from __future__ import annotations

import os
import tempfile
from typing import Any

from celery import Celery
from celery.signals import worker_process_shutdown, worker_ready, worker_shutdown
from django.conf import settings

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings.local")
if os.environ.get("CERTPORTAL_METRICS_PORT", "0") not in {"", "0"} and not os.environ.get(
    "PROMETHEUS_MULTIPROC_DIR"
):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="certportal-worker-metrics-")

from portal.task_hooks import task_hooks_install

app = Celery("certportal")
app.config_from_object("django.conf:settings", namespace="CELERY")
task_hooks_install()
# ``tasks`` modules: the CA worker's (``ca.tasks``, routed to the ``ca`` queue by name); ``jobs`` modules:
# each app's default-queue tasks (sweeps, notifications, bulk work).
app.autodiscover_tasks()
app.autodiscover_tasks(related_name="jobs")


_monitors: list[Any] = []
_servers: list[Any] = []


@worker_ready.connect
def connector_service_started(sender: Any = None, **kwargs: Any) -> None:
    """10010 when a worker serving the CA queue is ready (``sender``: its consumer); then its self-check
    and heartbeat (``portal.ca_worker``): a worker that cannot sign takes no task.
    """
    if connector_service_record(sender, started=True):
        from portal.ca_worker import CaWorkerMonitor  # noqa: PLC0415 - needs the app registry

        monitor = CaWorkerMonitor(sender)
        monitor.start()
        _monitors.append(monitor)


@worker_ready.connect
def worker_metrics_started(sender: Any = None, **kwargs: Any) -> None:
    """Any worker: its metrics on ``CERTPORTAL_METRICS_PORT``, if set."""
    from portal.conf import portal_settings  # noqa: PLC0415 - needs the settings

    port = portal_settings().METRICS_PORT
    if not port:
        return
    from portal.metrics_server import worker_metrics_serve  # noqa: PLC0415 - needs the app registry

    try:
        _servers.append(worker_metrics_serve(port=port))
    except OSError as exc:  # the port is taken: the worker works on, without its metrics
        import logging  # noqa: PLC0415

        logging.getLogger(__name__).error("worker metrics not served on port %s: %s", port, exc)


@worker_process_shutdown.connect
def worker_process_metrics_dead(pid: int | None = None, **kwargs: Any) -> None:
    """A pool process ends: its live gauges go with it (prometheus-client's multi-process mode)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess  # noqa: PLC0415

        multiprocess.mark_process_dead(pid or os.getpid())  # type: ignore[no-untyped-call]


@worker_shutdown.connect
def connector_service_stopped(sender: Any = None, **kwargs: Any) -> None:
    """10020 when that worker shuts down (``sender``: the worker)."""
    while _monitors:
        _monitors.pop().stop()
    while _servers:
        _servers.pop().shutdown()
    connector_service_record(sender, started=False)


def connector_service_record(worker: Any, *, started: bool) -> bool:
    """Record the start or stop of ``worker`` (a consumer or a worker: both have ``hostname`` and ``app``)
    if it serves the CA queue, with its hostname and queues; 0x0FFFFFFF if they cannot be read. Returns
    whether the worker serves the CA queue.
    """
    # Imported here, not at the top: this module is loaded with the settings, before Django's app registry
    # is ready, and the event log's models need it. The signals fire in a worker, after Celery's Django
    # fix-up has set Django up.
    from eventlog.choices import DiagnosticCode, EventId, EventLevel  # noqa: PLC0415
    from eventlog.services import event_record  # noqa: PLC0415

    event_id = EventId.STARTED_CONNECTOR_SERVICE if started else EventId.STOPPED_CONNECTOR_SERVICE
    action = "started" if started else "stopped"
    try:
        hostname = str(worker.hostname)
        queues = sorted(str(name) for name in worker.app.amqp.queues.consume_from)
    except Exception as exc:  # a hook must not stop the worker; what failed is recorded
        event_record(
            event_id=event_id,
            level=EventLevel.ERROR,
            message=f"connector service {action}, but the worker cannot be described: {exc}",
            diagnostic_code=DiagnosticCode.UNKNOWN_ERROR,
            details={"error": type(exc).__name__},
        )
        return False
    if settings.CERTPORTAL_CA_QUEUE not in queues:
        return False
    event_record(
        event_id=event_id,
        message=f"connector service {action}: CA worker {hostname} (queues {', '.join(queues)})",
        diagnostic_code=DiagnosticCode.SUCCESS,
        details={"hostname": hostname, "queues": queues, "pid": os.getpid()},
    )
    return True
