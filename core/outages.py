"""What a failed dependency looks like, and the one answer certportal gives for it.

A request can meet PostgreSQL, Redis (the cache, the rate limits, Celery's broker and result backend) or
the broker down at any point: a query, a commit, a throttle check, handing a task over. Every such error
is an outage of a dependency, answered **503 with Retry-After** (never 500) by whoever catches it: the SCEP
endpoint's exception handler, the API's, and ``portal.middleware.DependencyOutageMiddleware`` for every
other view. ``dependency_outage(exc)`` names the dependency, or None for an error that is a bug.

Which errors count:

* the database: ``django.db.OperationalError`` and ``InterfaceError`` (the connection died, or was closed
  under a request: psycopg2 raises the latter on the next query after the server went away), and
  ``DatabaseError`` as raised for a lost connection. ``IntegrityError``, ``DataError`` and
  ``ProgrammingError`` are not outages: they are bugs or races that must stay visible.
* Redis: every ``redis.exceptions.ConnectionError`` and ``TimeoutError`` (Django's cache and the rate
  limits talk to it directly);
* the broker: kombu's ``OperationalError`` (sending a task), and ``OSError``-level connection errors that
  kombu and redis-py let through (connection refused or reset): a "connection" outage.
"""

from __future__ import annotations

from typing import Final

import kombu.exceptions
import redis.exceptions

from django.db import utils as db_utils

__all__ = ["RETRY_AFTER_SECONDS", "dependency_outage"]

#: What a client is told to wait before it retries (Retry-After, seconds).
RETRY_AFTER_SECONDS: Final = 10

_NOT_OUTAGES = (
    db_utils.IntegrityError,
    db_utils.DataError,
    db_utils.ProgrammingError,
    db_utils.NotSupportedError,
)


def dependency_outage(exc: BaseException) -> str | None:
    """The dependency whose outage ``exc`` (or what caused it) is: "database", "cache", "broker" or
    "connection"; None for an error that is not an outage.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        found = _classify(current)
        if found is not None:
            return found
        current = current.__cause__ or current.__context__
    return None


def _classify(exc: BaseException) -> str | None:
    if isinstance(exc, _NOT_OUTAGES):
        return None
    if isinstance(exc, (db_utils.OperationalError, db_utils.InterfaceError, db_utils.DatabaseError)):
        return "database"
    if isinstance(exc, (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)):
        return "cache"
    if isinstance(exc, kombu.exceptions.OperationalError):
        return "broker"
    if isinstance(exc, (ConnectionError, TimeoutError)):
        return "connection"
    return None
