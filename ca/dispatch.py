"""Sending work to the CA worker by task name: the RA side of the ``ca`` queue.

The web tier never imports the CA worker's task module (``ca.tasks``), the issuance or revocation
services or the key backends: it sends a ``ca.messages`` message to the task of that name, and reads
its result by task id. ``CELERY_TASK_ROUTES`` puts every ``ca.tasks.*`` name on the ``ca`` queue, which
only the CA worker serves.

In the embedded default (``CELERY_TASK_ALWAYS_EAGER``) the process is also the CA: the task modules are
loaded through Celery's autodiscovery and the task runs in place, on the same code path.
"""

from __future__ import annotations

import threading
from typing import Any

from celery import current_app
from celery.result import AsyncResult, EagerResult

from ca.messages import CaTaskMessage

__all__ = ["ca_task_result", "ca_task_results_available", "ca_task_send"]

_loaded = threading.Event()


def ca_task_send(
    message: CaTaskMessage, *, task_id: str | None = None
) -> AsyncResult[Any] | EagerResult[Any]:
    """Hand ``message`` to its task. Raises kombu's OperationalError when the broker cannot be reached."""
    app = current_app
    payload = message.model_dump(mode="json")
    if app.conf.task_always_eager:
        if not _loaded.is_set():
            app.loader.import_default_modules()  # autodiscovery: this process runs the tasks itself
            _loaded.set()
        return app.tasks[message.task_name].apply_async(args=(payload,), task_id=task_id)
    return app.send_task(message.task_name, args=(payload,), task_id=task_id)


def ca_task_result(task_id: str) -> AsyncResult[Any]:
    """The result handle of a task sent earlier (needs a result backend to carry anything)."""
    return AsyncResult(task_id, app=current_app)


def ca_task_results_available() -> bool:
    """Whether a sent task's result can be awaited (a worker and a result backend): else poll the database."""
    conf = current_app.conf
    return not conf.task_always_eager and bool(conf.result_backend)
