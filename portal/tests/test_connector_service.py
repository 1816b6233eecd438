"""The CA worker is the connector service: its start and stop are in the event log (10010, 10020), recorded
by Celery's worker_ready and worker_shutdown signals (portal/celery.py).

The first tests call the hook with stand-ins for Celery's consumer and worker; the last starts a real
worker against PostgreSQL and Redis, as portal/tests/test_topology.py does, and stops it with SIGTERM.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from types import SimpleNamespace

import pytest

from celery.signals import worker_ready, worker_shutdown

from eventlog.choices import DiagnosticCode, EventId, EventLevel
from eventlog.models import ConnectorEvent
from portal.celery import connector_service_record, connector_service_started, connector_service_stopped
from portal.tests.test_topology import _base_env, _require_services, _start_ca_worker


def _worker(*queues: str, hostname: str = "ca@host-1") -> SimpleNamespace:
    """What the hook reads of a consumer (worker_ready) or a worker (worker_shutdown)."""
    consume_from = {name: object() for name in queues}
    return SimpleNamespace(
        hostname=hostname,
        app=SimpleNamespace(amqp=SimpleNamespace(queues=SimpleNamespace(consume_from=consume_from))),
    )


def test_the_hooks_are_connected_to_the_worker_signals():
    assert connector_service_started in [ref() for _, ref in worker_ready.receivers]
    assert connector_service_stopped in [ref() for _, ref in worker_shutdown.receivers]


def test_a_worker_serving_the_ca_queue_is_the_connector_service(db, settings):
    settings.CERTPORTAL_CA_QUEUE = "ca"
    worker = _worker("ca", "celery")

    connector_service_started(sender=worker)
    connector_service_stopped(sender=worker)

    started, stopped = ConnectorEvent.objects.order_by("id")
    assert (started.event_id, started.level, started.diagnostic) == (
        EventId.STARTED_CONNECTOR_SERVICE,
        EventLevel.INFORMATION,
        "0x00000000 Success",
    )
    assert started.message == "connector service started: CA worker ca@host-1 (queues ca, celery)"
    assert (started.details["hostname"], started.details["queues"]) == ("ca@host-1", ["ca", "celery"])
    assert (stopped.event_id, stopped.message) == (
        EventId.STOPPED_CONNECTOR_SERVICE,
        "connector service stopped: CA worker ca@host-1 (queues ca, celery)",
    )


def test_a_worker_of_other_queues_is_not_recorded(db, settings):
    settings.CERTPORTAL_CA_QUEUE = "ca"
    connector_service_record(_worker("default"), started=True)
    assert not ConnectorEvent.objects.exists()


def test_a_start_hook_that_fails_is_0x0fffffff(db):
    connector_service_record(object(), started=True)

    event = ConnectorEvent.objects.get()
    assert (event.event_id, event.level, event.diagnostic_code) == (
        EventId.STARTED_CONNECTOR_SERVICE,
        EventLevel.ERROR,
        DiagnosticCode.UNKNOWN_ERROR,
    )
    assert event.message.startswith("connector service started, but the worker cannot be described")
    assert event.details == {"error": "AttributeError"}


@pytest.mark.external
@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_real_ca_worker_records_its_start_and_its_stop(tmp_path: Path):
    redis_url = _require_services()
    queue = f"ca-events-{uuid.uuid4().hex[:8]}"
    env = _base_env(redis_url, queue, tmp_path, "http://127.0.0.1:9")

    worker = _start_ca_worker(env, queue, tmp_path)  # returns once the worker logged "ready."
    try:
        started = ConnectorEvent.objects.get(event_id=EventId.STARTED_CONNECTOR_SERVICE)
    finally:
        worker.stop()  # SIGTERM: a warm shutdown

    assert worker.popen.returncode == 0, worker.log.read_text(errors="replace")[-4000:]
    assert started.details["queues"] == [queue]
    assert started.details["hostname"].startswith(f"{queue}@")
    assert started.diagnostic_code == DiagnosticCode.SUCCESS
    stopped = ConnectorEvent.objects.get(event_id=EventId.STOPPED_CONNECTOR_SERVICE)
    assert (stopped.details["hostname"], stopped.details["pid"]) == (
        started.details["hostname"],
        started.details["pid"],
    )
    assert stopped.created_at >= started.created_at
