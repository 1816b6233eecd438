"""One id per web request that follows its work into the Celery workers and back: in every log line.

A context variable (not a thread-local), set by ``portal.middleware.RequestIdMiddleware`` around each web
request, carried to a worker in a task header by the Celery hooks (``portal.task_hooks``: published with
the task, restored when it runs) and set around management commands' tasks the same way. The log filter
``RequestIdFilter`` puts it on every record as ``request_id`` (``-`` outside a request or task), so that a
SCEP request's lines in the web process and the CA worker's lines for the certificate it asked for carry
the same id; the event log's CEF stream carries it too.

An id from outside (nginx's ``X-Request-ID``) is taken only when it is short and made of safe characters,
so that it cannot forge log lines.
"""

from __future__ import annotations

import logging
import re
import uuid
from contextvars import ContextVar, Token

__all__ = [
    "REQUEST_ID_HEADER",
    "RequestIdFilter",
    "request_id_get",
    "request_id_new",
    "request_id_reset",
    "request_id_set",
    "request_id_valid",
]

#: The Celery message header that carries the id to a worker.
REQUEST_ID_HEADER = "certportal_request_id"

_request_id: ContextVar[str] = ContextVar("certportal_request_id", default="")
_SAFE = re.compile(r"[A-Za-z0-9._:-]{8,64}")


def request_id_get() -> str:
    """The current request's (or task's) id; empty outside of them."""
    return _request_id.get()


def request_id_new() -> str:
    return uuid.uuid4().hex


def request_id_valid(value: object) -> bool:
    return isinstance(value, str) and _SAFE.fullmatch(value) is not None


def request_id_set(value: str) -> Token[str]:
    """Make ``value`` the current id until ``request_id_reset(token)``."""
    return _request_id.set(value)


def request_id_reset(token: Token[str]) -> None:
    _request_id.reset(token)


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` to every record (for the formats in ``LOGGING``); filters nothing out."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = _request_id.get() or "-"
        return True
