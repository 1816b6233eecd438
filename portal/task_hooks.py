"""Celery hooks of every task: its request id travels with it, and its wait and run times are measured.

* ``before_task_publish`` (the publishing process: the web tier's ``ca.dispatch.ca_task_send``, beat, a
  command) puts the current request id (``core.request_ids``) and the time of publication in the message's
  headers;
* ``task_prerun`` (the worker) makes that id current for the task's log lines and records how long the task
  waited in its queue (``certportal_task_wait_seconds``); a task with no id of its own (a beat job) gets one;
* ``task_postrun`` records how long it ran and in which state (``certportal_task_run_seconds``).

A task run in process (the embedded default) keeps the id of the request that ran it. These are hooks of the
processes' infrastructure (which request a log line belongs to), not domain effects.
"""

from __future__ import annotations

import time
from contextvars import Token
from typing import Any

from celery.signals import before_task_publish, task_postrun, task_prerun

from core import metrics
from core.request_ids import (
    REQUEST_ID_HEADER,
    request_id_get,
    request_id_reset,
    request_id_set,
    request_id_valid,
)

__all__ = ["PUBLISHED_AT_HEADER", "task_hooks_install"]

#: When the task was published (seconds since the epoch, the publisher's clock).
PUBLISHED_AT_HEADER = "certportal_published_at"

#: Per running task id: when it started and the id's context token to reset (a list: an eager task may run
#: inside another with the same id only in tests, but resetting in order must not depend on it).
_running: dict[str, list[tuple[float, Token[str] | None]]] = {}


def task_hooks_install() -> None:
    before_task_publish.connect(task_published, weak=False, dispatch_uid="portal.task_published")
    task_prerun.connect(task_started, weak=False, dispatch_uid="portal.task_started")
    task_postrun.connect(task_finished, weak=False, dispatch_uid="portal.task_finished")


def task_published(headers: dict[str, Any] | None = None, **kwargs: Any) -> None:
    if headers is None:
        return
    request_id = request_id_get()
    if request_id:
        headers.setdefault(REQUEST_ID_HEADER, request_id)
    headers.setdefault(PUBLISHED_AT_HEADER, time.time())


def _queue(request: Any) -> str:
    delivery = getattr(request, "delivery_info", None) or {}
    if getattr(request, "is_eager", False) or not isinstance(delivery, dict):
        return "in_process"
    return str(delivery.get("routing_key") or delivery.get("exchange") or "unknown")


def task_started(task_id: str | None = None, task: Any = None, **kwargs: Any) -> None:
    if task is None or task_id is None:
        return
    request = getattr(task, "request", None)
    offered = getattr(request, REQUEST_ID_HEADER, None)
    token: Token[str] | None = None
    if request_id_valid(offered) and offered != request_id_get():
        token = request_id_set(str(offered))
    elif not request_id_get():
        token = request_id_set(f"task-{task_id}")
    published = getattr(request, PUBLISHED_AT_HEADER, None)
    waited = time.time() - published if isinstance(published, int | float) else None
    metrics.task_started(queue=_queue(request), task=str(task.name), waited=waited)
    _running.setdefault(task_id, []).append((time.perf_counter(), token))


def task_finished(
    task_id: str | None = None, task: Any = None, state: str | None = None, **kwargs: Any
) -> None:
    entries = _running.get(task_id or "")
    if not entries or task is None:
        return
    started, token = entries.pop()
    if not entries:
        _running.pop(task_id or "", None)
    metrics.task_finished(
        queue=_queue(getattr(task, "request", None)),
        task=str(task.name),
        state=str(state or "UNKNOWN"),
        seconds=time.perf_counter() - started,
    )
    if token is not None:
        request_id_reset(token)
