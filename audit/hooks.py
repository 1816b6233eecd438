"""The actor of management commands and Celery tasks, installed once by ``AuditConfig.ready``.

- Commands: ``BaseCommand.execute`` is wrapped, so ``manage.py <name>`` and ``call_command`` run as
  ``command:<name>`` with the operating-system user, without a base class in every app's commands.
- Tasks: Celery's ``task_prerun`` / ``task_postrun`` set and reset ``task:<task name>``; a task run in
  process (eager) acts for the request or command that ran it; ``before_task_publish`` puts the
  publisher's actor in a message header, so a worker's task names who sent it.

These are hooks of the process's infrastructure (who is acting), not domain effects.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable
from typing import Any

from celery.signals import before_task_publish, task_postrun, task_prerun
from django.core.management.base import BaseCommand

from audit.choices import ActorKind
from audit.context import NAME_LENGTH, Actor, current_actor, nested, os_user, reset_actor, set_actor

__all__ = ["ACTOR_HEADER", "hooks_install"]

#: The message header carrying the publisher's actor to the worker.
ACTOR_HEADER = "certportal_actor"
CID_HEADER = "certportal_cid"

_installed = False
#: The context-variable tokens of the running tasks, by task id (reset at postrun).
_task_tokens: dict[str, list[object]] = {}


def hooks_install() -> None:
    global _installed  # noqa: PLW0603  (installed once per process)
    if _installed:
        return
    BaseCommand.execute = _audited_execute(BaseCommand.execute)  # type: ignore[method-assign]
    before_task_publish.connect(task_published, weak=False, dispatch_uid="audit.task_published")
    task_prerun.connect(task_started, weak=False, dispatch_uid="audit.task_started")
    task_postrun.connect(task_finished, weak=False, dispatch_uid="audit.task_finished")
    _installed = True


def command_actor(command: BaseCommand) -> Actor:
    name = type(command).__module__.rsplit(".", 1)[-1]
    return nested(
        Actor(
            kind=ActorKind.COMMAND,
            name=f"command:{name}"[:NAME_LENGTH],
            os_user=os_user(),
            via=f"manage.py {name}"[:NAME_LENGTH],
            correlation_id=uuid.uuid4().hex,
        )
    )


def _audited_execute(execute: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(execute)
    def audited(self: BaseCommand, *args: Any, **options: Any) -> Any:
        token = set_actor(command_actor(self))
        try:
            return execute(self, *args, **options)
        finally:
            reset_actor(token)

    return audited


def task_published(headers: dict[str, Any] | None = None, **kwargs: Any) -> None:
    """``before_task_publish``: the publisher's actor and correlation id travel with the message."""
    if headers is None:
        return
    actor = current_actor()
    headers.setdefault(ACTOR_HEADER, actor.name)
    if actor.correlation_id:
        headers.setdefault(CID_HEADER, actor.correlation_id)


def task_actor(task: Any, task_id: str) -> Actor:
    request = getattr(task, "request", None)
    sender = str(getattr(request, ACTOR_HEADER, None) or "")
    cid = str(getattr(request, CID_HEADER, None) or "") or task_id
    return nested(
        Actor(
            kind=ActorKind.TASK,
            name=f"task:{task.name}"[:NAME_LENGTH],
            on_behalf_of=sender[:NAME_LENGTH],
            os_user=os_user(),
            via=f"task {task_id}"[:NAME_LENGTH],
            correlation_id=cid,
        )
    )


def task_started(task_id: str | None = None, task: Any = None, **kwargs: Any) -> None:
    """``task_prerun``: the task acts as ``task:<name>`` until ``task_postrun``."""
    if task is None or task_id is None:
        return
    _task_tokens.setdefault(task_id, []).append(set_actor(task_actor(task, task_id)))


def task_finished(task_id: str | None = None, **kwargs: Any) -> None:
    tokens = _task_tokens.get(task_id or "")
    if not tokens:
        return
    reset_actor(tokens.pop())
    if not tokens:
        _task_tokens.pop(task_id or "", None)
