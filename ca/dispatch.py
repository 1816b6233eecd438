"""Sending work to the CA worker by task name: the RA side of the ``ca`` queue.

The web tier never imports the CA worker's task module (``ca.tasks``), the issuance or revocation
services or the key backends: it sends a ``ca.messages`` message to the task of that name, and reads
its result by task id. ``CELERY_TASK_ROUTES`` puts every ``ca.tasks.*`` name on the ``ca`` queue, which
only the CA worker serves.

In the embedded default (``CELERY_TASK_ALWAYS_EAGER``) the process is also the CA: the task modules are
loaded through Celery's autodiscovery and the task runs in place, on the same code path.

Handing a certificate or revocation request to the queue is the connector's upload: 20300 Upload_Success
when the message is on the queue (one insert), 20302 Upload_Failure when the broker refused it. CRL
publication is not a request and is not recorded.
"""

from __future__ import annotations

import threading
from typing import Any

from celery import current_app
from celery.result import AsyncResult, EagerResult

from ca.messages import (
    CaTaskMessage,
    CertificateIssueMessage,
    PkcsCertificateIssueMessage,
    RevocationRequestExecuteMessage,
)
from eventlog.choices import DiagnosticCode, EventId, EventLevel
from eventlog.services import event_record

__all__ = ["ca_task_result", "ca_task_results_available", "ca_task_send"]

_loaded = threading.Event()
#: The tasks that carry a certificate or revocation request: their hand-over is recorded.
_REQUEST_TASKS = frozenset(
    {
        CertificateIssueMessage.task_name,
        PkcsCertificateIssueMessage.task_name,
        RevocationRequestExecuteMessage.task_name,
    }
)


def ca_task_send(
    message: CaTaskMessage, *, task_id: str | None = None
) -> AsyncResult[Any] | EagerResult[Any]:
    """Hand ``message`` to its task. Raises kombu's OperationalError when the broker cannot be reached."""
    app = current_app
    payload = message.model_dump(mode="json")
    recorded = message.task_name in _REQUEST_TASKS
    if app.conf.task_always_eager:
        if not _loaded.is_set():
            app.loader.import_default_modules()  # autodiscovery: this process runs the tasks itself
            _loaded.set()
        if recorded:  # before the task runs in place, so that the log reads upload, then download
            _record_upload(message, payload, task_id)
        return app.tasks[message.task_name].apply_async(args=(payload,), task_id=task_id)
    try:
        result = app.send_task(message.task_name, args=(payload,), task_id=task_id)
    except Exception as exc:  # recorded and raised again: the callers decide (the request stays queued)
        if recorded:
            _record_upload(message, payload, task_id, error=exc)
        raise
    if recorded:
        _record_upload(message, payload, result.id)
    return result


def _record_upload(
    message: CaTaskMessage, payload: dict[str, Any], task_id: str | None, *, error: Exception | None = None
) -> None:
    arguments = ", ".join(f"{name}={value}" for name, value in payload.items())
    what = f"{message.task_name.rsplit('.', 1)[-1]}({arguments})"
    details = {"task": message.task_name, "task_id": task_id or "", **payload}
    if error is None:
        event_record(
            event_id=EventId.UPLOAD_SUCCESS,
            message=f"handed to the CA queue: {what}",
            diagnostic_code=DiagnosticCode.SUCCESS,
            details=details,
        )
    else:
        event_record(
            event_id=EventId.UPLOAD_FAILURE,
            level=EventLevel.ERROR,
            message=f"could not hand {what} to the CA queue: {error}",
            diagnostic_code=DiagnosticCode.UNKNOWN_ERROR,
            details={**details, "error": type(error).__name__},
        )


def ca_task_result(task_id: str) -> AsyncResult[Any]:
    """The result handle of a task sent earlier (needs a result backend to carry anything)."""
    return AsyncResult(task_id, app=current_app)


def ca_task_results_available() -> bool:
    """Whether a sent task's result can be awaited (a worker and a result backend): else poll the database."""
    conf = current_app.conf
    return not conf.task_always_eager and bool(conf.result_backend)
