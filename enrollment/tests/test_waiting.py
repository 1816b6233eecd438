"""The bounded waiting pool: at most CERTPORTAL_SCEP_MAX_WAITING requests of a process wait for the CA
worker; the others wait up to CERTPORTAL_SCEP_SLOT_WAIT for a slot, then answer PENDING, as every request does
at once while no CA worker can sign."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

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


@contextmanager
def _a_slot_held() -> Iterator[threading.Event]:
    """Another request holds a waiting slot until the yielded event is set (or the block ends)."""
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        with wait_slot(5.0):
            holding.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    assert holding.wait(10)
    try:
        yield release
    finally:
        release.set()
        holder.join(10)


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
    assert second == 0.0  # every slot taken for longer than the slot wait: PENDING
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


@override_settings(CERTPORTAL_SCEP_MAX_WAITING=1, CERTPORTAL_SCEP_SLOT_WAIT=5)
def test_a_request_takes_a_slot_that_comes_free_while_it_waits(
    with_broker: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under load with a quick CA the slots free within milliseconds: a request waits for one instead of
    answering PENDING (which would cost the device a poll)."""
    _ready_worker()
    asking = threading.Event()
    waits: list[float] = []
    slots = waiting._semaphore()
    assert slots is not None
    acquire = slots.acquire

    def acquire_noting_the_wait(blocking: bool = True, timeout: float | None = None) -> bool:
        if blocking:
            asking.set()  # the second request is about to wait for the slot
        return acquire(blocking, timeout)

    monkeypatch.setattr(slots, "acquire", acquire_noting_the_wait)

    def second() -> None:
        with wait_slot(5.0) as wait:
            waits.append(wait)

    with _a_slot_held() as release:
        waiter = threading.Thread(target=second)
        waiter.start()
        assert asking.wait(10)
        release.set()  # the slot comes free while the second request waits for it
        waiter.join(10)

    assert len(waits) == 1
    assert 0.0 < waits[0] < 5.0  # it got the slot, and waits for the CA what is left of the 5 s


@override_settings(CERTPORTAL_SCEP_MAX_WAITING=1, CERTPORTAL_SCEP_SLOT_WAIT=0)
def test_without_a_slot_wait_a_busy_pool_answers_pending_at_once(with_broker: None) -> None:
    _ready_worker()
    with _a_slot_held(), wait_slot(5.0) as second:
        pass
    assert second == 0.0
