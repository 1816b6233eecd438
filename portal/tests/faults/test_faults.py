"""Faults injected into the real topology during a bounded load of SCEP enrollments, each reconciled with
the database (``reconcile``): every request answered, one transaction and at most one certificate per
request, no serial twice, no HTTP 500.

Each test waits by polling with a deadline; a fault lasts until the load has met it (answers counted
during it), not for a fixed time.
"""

from __future__ import annotations

import signal
import time

import pytest

from portal.tests.faults.conftest import FaultRun
from portal.tests.faults.load import Answer, Load, devices_make
from portal.tests.faults.topology import CHALLENGE, FaultTopology, until

pytestmark = [pytest.mark.faults, pytest.mark.external, pytest.mark.postgres, pytest.mark.redis]

#: Seconds a load may take, fault included; a device without SUCCESS or FAILURE by then is a stall.
DEADLINE = 90.0


def _load(topology: FaultTopology, prefix: str, count: int, *, concurrency: int = 8) -> Load:
    load = Load(topology.scep_url, devices_make(prefix, count, challenge=CHALLENGE), concurrency=concurrency,
                deadline=DEADLINE)  # fmt: skip
    load.prime()
    return load


def _during(load: Load, answers: int, what: str, timeout: float = 30.0) -> None:
    """Until the load has received ``answers`` more HTTP answers (of any kind) than now."""
    target = load.answered() + answers
    until(
        lambda: load.answered() >= target or load.finished() == len(load.enrollments),
        what, timeout, state=load.answer_counts,
    )  # fmt: skip


def _all_pending(load: Load, timeout: float = 60.0) -> None:
    until(
        lambda: all(Answer.PENDING in enrollment.answers for enrollment in load.enrollments),
        "every request PENDING", timeout,
        state=lambda: (load.answer_counts(), [e.errors[-1:] for e in load.enrollments if e.errors][:3]),
    )  # fmt: skip


def test_200_enrollments_at_concurrency_16(fault: FaultRun) -> None:
    load = _load(fault.topology, "f-c16", 200, concurrency=16)
    load.run()
    result = fault.reconcile("f-c16", load, notes=f"{200 / load.seconds:.1f} enrollments/s")
    result.assert_clean()
    assert result.success == 200


def test_kill9_ca_worker_pool_processes_inside_the_signing_transaction(fault: FaultRun) -> None:
    """Both pool processes are killed while one's issuance waits, inside its database transaction, for a
    table lock the test holds (SHARE: it stops writers only; after signing, at the certificate's INSERT;
    the other is in a transaction of its own or waits for a task): nothing is committed, the main process
    starts new pool processes, and the tasks (acks_late, reject_on_worker_lost) are delivered again.
    """
    topology = fault.topology
    load = _load(topology, "f-kill-pool", 24)
    with topology.postgres.connect() as blocker, blocker.cursor() as cursor:
        cursor.execute("LOCK TABLE ca_issuedcertificate IN SHARE MODE")
        load.start()
        watcher = topology.postgres.connect()
        watcher.autocommit = True  # pg_stat_activity is read once per transaction: a fresh view each time
        with watcher.cursor() as watch:

            def inserting() -> bool:
                watch.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                    " AND query LIKE 'INSERT INTO \"ca_issuedcertificate\"%%'"
                )
                row = watch.fetchone()
                return row is not None and row[0] >= 1

            def activity() -> object:
                watch.execute(
                    "SELECT a.pid, a.wait_event, left(a.query, 50), b.pid, b.state, left(b.query, 90)"
                    " FROM pg_stat_activity a, unnest(pg_blocking_pids(a.pid)) AS blocker"
                    " JOIN pg_stat_activity b ON b.pid = blocker"
                )
                return (load.answer_counts(), watch.fetchall())

            until(inserting, "a pool process inside the signing transaction", state=activity)
        watcher.close()
        pool = topology.ca_worker.children()
        assert len(pool) == 2, pool
        for pid in pool:
            topology.ca_worker.kill_child(pid)
        blocker.rollback()
    blocker.close()
    load.wait()
    result = fault.reconcile("f-kill-pool", load)
    result.assert_clean()
    assert not set(pool) & set(topology.ca_worker.children())  # new pool processes took the tasks


def test_kill9_ca_worker_main_process(fault: FaultRun) -> None:
    topology = fault.topology
    load = _load(topology, "f-kill-main", 24).start()
    _during(load, 6, "answers before the kill")
    topology.ca_worker.kill9()
    topology.ca_worker.reap_group()  # its orphaned pool processes
    _during(load, 8, "answers without a CA worker")
    topology.ca_worker.start()
    load.wait()
    fault.reconcile("f-kill-main", load).assert_clean()


def test_redis_stop_and_start_under_load(fault: FaultRun) -> None:
    topology = fault.topology
    load = _load(topology, "f-redis", 30).start()
    _during(load, 6, "answers before Redis stops")
    topology.redis.stop()
    _during(load, 10, "answers while Redis is down")
    topology.redis.start()
    # A Celery worker that loses Redis while it holds an unacknowledged message can exit: kombu 5.7 closes
    # the lost connection, restores the unacknowledged messages through it and fails with AttributeError
    # ('NoneType' object has no attribute 'hostname'), which Celery reports as an unrecoverable error. Compose
    # restarts it (restart: unless-stopped); so does this test, after checking that it was that error.
    restarted = []
    for service in (topology.ca_worker, topology.worker):
        until(
            lambda service=service: not service.running  # type: ignore[misc]
            or service.log_text().count("Connected to redis") >= 2,
            f"{service.name} reconnected or exited", 60,
        )  # fmt: skip
        if not service.running:
            assert "Unrecoverable error: AttributeError" in service.log_text(), service.log_text()[-3000:]
            restarted.append(service.name)
            service.reap_group()
            service.start()
    load.wait()
    result = fault.reconcile(
        "f-redis", load, notes=f"restarted after kombu's AttributeError: {', '.join(restarted) or 'none'}"
    )
    result.assert_clean()


@pytest.mark.parametrize("appendonly", [True, False], ids=["aof", "no-persistence"])
def test_redis_restart_with_queued_tasks(fault: FaultRun, appendonly: bool) -> None:
    """The CA worker is down, every request waits in the broker (PENDING); Redis restarts. With AOF, as
    docker-compose.yml runs it, the queued tasks survive; without persistence they are lost and the
    polls send them again (``CERTPORTAL_REQUEST_REDISPATCH_AFTER``).
    """
    topology = fault.topology
    prefix = f"f-queued-{'aof' if appendonly else 'lost'}"
    topology.ca_worker.stop()
    load = _load(topology, prefix, 20).start()
    _all_pending(load)
    topology.redis.stop()
    topology.redis.appendonly = appendonly
    topology.redis.start()
    topology.redis.appendonly = True
    topology.ca_worker.start()
    load.wait()
    fault.reconcile(prefix, load).assert_clean()
    if not appendonly:
        topology.redis.stop()  # back to the AOF the next test expects
        topology.redis.start()


def test_postgres_stop_and_start_under_load(fault: FaultRun) -> None:
    topology = fault.topology
    load = _load(topology, "f-postgres", 30).start()
    _during(load, 6, "answers before PostgreSQL stops")
    topology.postgres.stop()
    _during(load, 10, "answers while PostgreSQL is down")
    topology.postgres.start()
    load.wait()
    result = fault.reconcile("f-postgres", load)
    result.assert_clean()
    assert result.exchanges.get(str(Answer.UNAVAILABLE), 0) > 0, result


def test_wrong_ca_passphrase_then_fixed(fault: FaultRun) -> None:
    topology = fault.topology
    topology.ca_worker.stop()
    topology.ca_worker.start({"CERTPORTAL_CA_KEY_PASSPHRASE": "not-the-ca-key-passphrase"})
    load = _load(topology, "f-passphrase", 20).start()
    _all_pending(load)
    readiness = topology.readiness()
    assert readiness is not None
    assert readiness.status_code == 503
    assert readiness.json()["checks"]["ca_worker"]["detail"] == "no CA worker can sign"
    topology.ca_worker.stop()
    topology.ca_worker.start()
    load.wait()
    fault.reconcile("f-passphrase", load).assert_clean()


def test_gunicorn_sigterm_and_restart_under_load(fault: FaultRun) -> None:
    """SIGTERM (a container stop): gunicorn closes its listening socket at once and answers the requests
    it has taken; connections still in the listen backlog are reset, and nothing listens until the new
    gunicorn is up. The devices send the same request again (idempotent by transactionID): no request is
    lost or issued twice, and the cost is counted as "no answer".
    """
    topology = fault.topology
    load = _load(topology, "f-sigterm", 30).start()
    _during(load, 6, "answers before SIGTERM")
    topology.web.signal(signal.SIGTERM)
    assert topology.web.popen is not None
    topology.web.popen.wait(timeout=60)
    topology.start_web()
    load.wait()
    result = fault.reconcile("f-sigterm", load)
    result.assert_clean()


def test_gunicorn_reload_with_usr2_under_load(fault: FaultRun) -> None:
    """The zero-downtime restart: USR2 (a new master inherits the listening socket), then SIGTERM to the
    old master, which drains. The socket never closes: not one connection is refused or reset.
    """
    topology = fault.topology
    load = _load(topology, "f-reload", 30).start()
    _during(load, 6, "answers before the reload")
    topology.reload_web()
    load.wait()
    result = fault.reconcile("f-reload", load)
    result.assert_clean()
    assert result.exchanges.get(str(Answer.NO_ANSWER), 0) == 0, result


def test_beat_down_and_a_task_lost_with_its_worker(fault: FaultRun) -> None:
    """No beat, so no sweep: a task lost with a killed worker is sent again by the device's poll."""
    topology = fault.topology
    topology.beat.stop()
    load = _load(topology, "f-beat-down", 20).start()
    _during(load, 4, "answers before the kill")
    topology.ca_worker.kill9()
    topology.ca_worker.reap_group()
    topology.ca_worker.start()
    load.wait()
    fault.reconcile("f-beat-down", load).assert_clean()


def test_20_identical_concurrent_pkcsreqs(fault: FaultRun) -> None:
    topology = fault.topology
    (device,) = devices_make("f-identical", 1, challenge=CHALLENGE)
    load = Load(topology.scep_url, [device] * 20, concurrency=20, deadline=DEADLINE, identical=True)
    started = time.monotonic()
    load.run()
    result = fault.reconcile("f-identical", load, notes=f"{time.monotonic() - started:.1f} s")
    result.assert_clean(expect_transactions=1)
    assert result.certificates_issued == 1
    assert len({enrollment.serial for enrollment in load.enrollments}) == 1
