"""The fault suite's topology: one per session, brought back to health before each test.

Its own PostgreSQL cluster and Redis on free ports in a temporary directory (never the DATABASE_URL and
REDIS_URL of the rest of the suite), gunicorn, the CA worker (2-process prefork pool), the default worker
and beat. The reconciliation of each test goes to ``var/faults/latest.json`` (``CERTPORTAL_FAULTS_REPORT``
to put it elsewhere) for docs/security.md.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from portal.env import BASE_DIR
from portal.tests.faults.load import Load
from portal.tests.faults.reconcile import LogMark, Reconciliation, reconcile
from portal.tests.faults.topology import PG_BIN, FaultTopology, PrivatePostgres, PrivateRedis


def _require_programs() -> None:
    missing = [
        name
        for name, found in (
            ("initdb (postgresql-15)", (PG_BIN / "initdb").exists()),
            ("redis-server", shutil.which("redis-server") is not None),
            ("redis-cli", shutil.which("redis-cli") is not None),
        )
        if not found
    ]
    if missing:
        reason = f"the fault suite needs {', '.join(missing)}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{reason}; CI must provide them")
        pytest.skip(reason)


@dataclass
class FaultReport:
    path: Path
    runs: dict[str, dict[str, object]] = field(default_factory=dict)

    def add(self, reconciliation: Reconciliation) -> None:
        self.runs[reconciliation.fault] = reconciliation.as_json()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps(self.runs, indent=2) + "\n", encoding="utf-8")


@pytest.fixture(scope="session")
def fault_report() -> FaultReport:
    path = Path(os.environ.get("CERTPORTAL_FAULTS_REPORT", "") or BASE_DIR / "var" / "faults" / "latest.json")
    return FaultReport(path)


@pytest.fixture(scope="session")
def fault_topology() -> Iterator[FaultTopology]:
    _require_programs()
    # Not under pytest's 0700 temporary directory: the postgres user must reach its cluster. Removed at the
    # end unless CERTPORTAL_FAULTS_KEEP is set (the processes' logs are there).
    tmp = Path(tempfile.mkdtemp(prefix="certportal-faults-"))
    tmp.chmod(0o755)
    postgres = PrivatePostgres(tmp / "postgres")
    redis = PrivateRedis(tmp / "redis")
    topology = FaultTopology(tmp=tmp, postgres=postgres, redis=redis)
    try:
        postgres.init()
        redis.start()
        topology.build()
        topology.bootstrap()
        for service in (topology.ca_worker, topology.worker, topology.beat):
            service.start()
        topology.start_web()
        topology.wait_ready()
        yield topology
    finally:
        if hasattr(topology, "web"):
            topology.stop_all()
        redis.stop()
        postgres.stop()
        if not os.environ.get("CERTPORTAL_FAULTS_KEEP"):
            shutil.rmtree(tmp, ignore_errors=True)


@dataclass
class FaultRun:
    """One fault test: the topology (healthy at the start), and its reconciliation."""

    topology: FaultTopology
    report: FaultReport
    fault: str
    mark: LogMark

    def reconcile(self, prefix: str, load: Load, *, notes: str = "") -> Reconciliation:
        result = reconcile(
            self.fault, prefix=prefix, load=load, postgres=self.topology.postgres,
            log_directory=self.topology.tmp, mark=self.mark, notes=notes,
        )  # fmt: skip
        self.report.add(result)
        return result


@pytest.fixture
def fault(
    fault_topology: FaultTopology, fault_report: FaultReport, request: pytest.FixtureRequest
) -> FaultRun:
    fault_topology.ensure_healthy()
    name = request.node.name.removeprefix("test_")
    return FaultRun(fault_topology, fault_report, name, LogMark.now(fault_topology.tmp))


__all__ = ["FaultReport", "FaultRun", "PrivatePostgres", "PrivateRedis"]
