"""The bounded waiting pool: at most CERTPORTAL_SCEP_MAX_WAITING requests of a process wait for the CA
worker; the others, and every request while no CA worker can sign, answer PENDING at once."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from celery import current_app
from django.test import override_settings

from ca.worker_status import WorkerStatus, worker_status_remove, worker_status_write
from enrollment.services.pki_operation import waiting
from enrollment.services.pki_operation.waiting import wait_slot


@pytest.fixture
def with_broker(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """As in production: tasks go to a CA worker (not run in the request), heartbeats are asked afresh."""
    monkeypatch.setitem(current_app.conf, "task_always_eager", False)
    monkeypatch.setattr(waiting, "_ready_until", 0.0)
    yield
    worker_status_remove("ca@test")  # the cache outlives the test


def _ready_worker(ready: bool = True) -> None:
    worker_status_write(WorkerStatus(hostname="ca@test", pid=1, ready=ready))


@override_settings(CERTPORTAL_SCEP_MAX_WAITING=1)
def test_only_as_many_requests_wait_as_there_are_slots(with_broker: None) -> None:
    _ready_worker()
    holding, release = threading.Event(), threading.Event()
    waits: list[float] = []

    def first() -> None:
        with wait_slot(5.0) as wait:
            waits.append(wait)
            holding.set()
            release.wait(10)

    thread = threading.Thread(target=first)
    thread.start()
    assert holding.wait(10)
    with wait_slot(5.0) as second:
        pass
    release.set()
    thread.join(10)
    with wait_slot(5.0) as third:
        pass

    assert waits == [5.0]
    assert second == 0.0  # every slot taken: PENDING at once
    assert third == 5.0  # the slot is free again


@override_settings(CERTPORTAL_SCEP_MAX_WAITING=4)
def test_nobody_waits_while_no_ca_worker_can_sign(with_broker: None) -> None:
    _ready_worker(ready=False)  # e.g. started with a wrong CA key passphrase
    with wait_slot(5.0) as wait:
        assert wait == 0.0


@override_settings(CERTPORTAL_SCEP_MAX_WAITING=4)
def test_nobody_waits_without_any_ca_worker_heartbeat(with_broker: None) -> None:
    with wait_slot(5.0) as wait:
        assert wait == 0.0


@override_settings(CERTPORTAL_SCEP_MAX_WAITING=0)
def test_a_pool_of_zero_never_waits(with_broker: None) -> None:
    _ready_worker()
    with wait_slot(5.0) as wait:
        assert wait == 0.0


def test_tasks_in_process_wait_as_configured() -> None:
    """The embedded default: the task ran in the request, the wait returns at once anyway."""
    with wait_slot(5.0) as wait:
        assert wait == 5.0
