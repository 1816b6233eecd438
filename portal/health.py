"""Readiness: ``/readyz`` says whether this installation can issue now, and if not, what is missing.

``/healthz`` (``portal.views.health_view``) is liveness: the web process answers and reaches its database.
``/readyz`` checks everything an enrollment needs, each within about two seconds:

* ``database``: a query;
* ``cache``: a write and a read (Redis in production: the rate limits and the workers' heartbeats);
* ``broker``: a connection to Celery's broker (not in the embedded default, whose tasks run in process);
* ``ca_worker``: at least one CA worker whose heartbeat is fresh and who can sign with every CA key
  (``ca.worker_status``; a worker started with a wrong passphrase says so here, with the CA and the
  reason). In the embedded default the web process is the CA worker: its keys are checked in process.
* ``ca_queue``: how many requests wait for the CA worker (information, never a failure).

200 when everything is ready, 503 (with Retry-After) otherwise; the body names each check. No secret and
no key material is in the answer; it is unauthenticated, as load balancers and compose call it.

``/readyz?scope=web`` checks only what the web tier itself needs (database, cache, broker; the queue's
length as information): the web container's health check and a load balancer's readiness probe use it.
A CA worker that is down or cannot sign does not make the web tier unready: it still serves CRLs, OCSP, CA
certificates, the admin, and answers devices PENDING until a worker issues, whereas a web tier taken out
of rotation would answer them nothing. The whole ``/readyz`` is for monitoring ("can this installation
issue now?"); the CA worker's own container checks that it can sign (``manage.py check --deploy --tag
ca_worker``, ``ca.checks``).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

from celery import current_app
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from ca.conf import ca_settings
from ca.dispatch import ca_task_send
from ca.messages import AuthorityKeysCheckMessage
from ca.worker_status import ca_queue_length, worker_statuses_read
from core.outages import RETRY_AFTER_SECONDS, dependency_outage

__all__ = ["readiness_view"]

_TIMEOUT = 2


def _database() -> dict[str, Any]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return {"ok": True}


def _cache() -> dict[str, Any]:
    key, value = "certportal:readyz", uuid.uuid4().hex
    cache.set(key, value, timeout=30)
    if cache.get(key) != value:
        return {"ok": False, "detail": "the cache did not return what was written"}
    return {"ok": True}


def _broker() -> dict[str, Any]:
    if current_app.conf.task_always_eager:
        return {"ok": True, "detail": "tasks run in process (embedded)"}
    with current_app.connection_for_write() as broker:
        broker.ensure_connection(max_retries=1, timeout=int(_TIMEOUT))
    return {"ok": True}


def _ca_worker() -> dict[str, Any]:
    if current_app.conf.task_always_eager:
        # The web process is the CA worker here: the check runs in process, sent as every CA task is.
        problems = list(ca_task_send(AuthorityKeysCheckMessage()).get(timeout=_TIMEOUT))
        return {"ok": not problems, "detail": "in process", "problems": problems}
    stale_after = 3 * ca_settings().CA_HEARTBEAT_INTERVAL
    workers = [status for status in worker_statuses_read() if status.age() <= stale_after]
    described = [
        {
            "hostname": status.hostname,
            "ready": status.ready,
            "problems": status.problems,
            "age": round(status.age(), 1),
        }
        for status in workers
    ]
    if any(status.ready for status in workers):
        return {"ok": True, "workers": described}
    detail = "no CA worker can sign" if workers else f"no CA worker heartbeat in the last {stale_after:.0f} s"
    return {"ok": False, "detail": detail, "workers": described}


def _ca_queue() -> dict[str, Any]:
    length = ca_queue_length()
    return {"ok": True, "waiting": length}


_CHECKS: dict[str, Callable[[], dict[str, Any]]] = {
    "database": _database,
    "cache": _cache,
    "broker": _broker,
    "ca_worker": _ca_worker,
    "ca_queue": _ca_queue,
}
#: The checks of each ``scope``: everything (the default), or the web tier's own dependencies.
SCOPES: dict[str, tuple[str, ...]] = {
    "all": tuple(_CHECKS),
    "web": ("database", "cache", "broker", "ca_queue"),
}


def _run(check: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    started = time.monotonic()
    try:
        result = check()
    except Exception as exc:
        outage = dependency_outage(exc)
        result = {"ok": False, "detail": f"{outage or 'error'}: {type(exc).__name__}: {exc}"[:300]}
    result["ms"] = round((time.monotonic() - started) * 1000, 1)
    return result


@never_cache
@require_GET
def readiness_view(request: HttpRequest) -> JsonResponse:
    scope = request.GET.get("scope", "all")
    if scope not in SCOPES:
        return JsonResponse({"status": "error", "detail": f"scope is one of {', '.join(SCOPES)}"}, status=400)
    checks = {name: _run(_CHECKS[name]) for name in SCOPES[scope]}
    ready = all(result["ok"] for result in checks.values())
    body = {"status": "ready" if ready else "not ready", "scope": scope, "checks": checks}
    response = JsonResponse(body, status=200 if ready else 503)
    if not ready:
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response
