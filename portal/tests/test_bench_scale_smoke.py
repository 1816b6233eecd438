"""A tiny run of the admin-side scale benchmark (``python -m bench.scale``, docs/benchmarks-admin.md): a few
hundred certificates, a few dozen devices and users, every measurement, against PostgreSQL and Redis.

It checks that the benchmark produced each measurement and that what it measured is right (a CRL that
``cryptography`` and ``openssl`` accept with every revoked entry, OCSP answers as expected, lists that
answer 200 with their query plans, every device checked in, the import done with its progress shown).
Nothing here measures speed. Skipped without PostgreSQL (DATABASE_URL) and Redis (REDIS_URL), except in CI
(CI=true), where that is a failure.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import redis

from django.db import connection

from ca.tests.pki import require_executable

pytestmark = [pytest.mark.external, pytest.mark.postgres, pytest.mark.redis]

REPO = Path(__file__).resolve().parents[2]
MEASUREMENTS = {"crl", "ocsp", "api", "admin", "dashboard", "checkin", "import", "crl_large"}


def _skip_unless_ci(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason}; CI must provide them")
    pytest.skip(reason)


def _services() -> tuple[dict[str, str], str, int, int]:
    """The test database's server and a free Redis DB (empty; the benchmark flushes it at the end)."""
    redis_url = os.environ.get("REDIS_URL", "")
    if connection.vendor != "postgresql" or not redis_url:
        _skip_unless_ci("needs DATABASE_URL (PostgreSQL) and REDIS_URL")
    parts = urlsplit(redis_url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 6379
    used = int(parts.path.strip("/") or 0)
    for db in range(1, 15):  # 0 and 15 are other people's
        if db != used and not redis.Redis(host=host, port=port, db=db).dbsize():
            return connection.settings_dict, host, port, db
    pytest.fail(f"no empty Redis DB on {host}:{port} for the benchmark")


def test_tiny_scale_run_produces_every_measurement(tmp_path):
    require_executable("openssl")
    database, redis_host, redis_port, redis_db = _services()
    output = tmp_path / "scale.json"
    command = [
        sys.executable,
        "-m",
        "bench.scale",
        *("--certificates", "300", "--revoked", "30", "--devices", "40", "--groups", "4", "--users", "60"),
        *("--ocsp-requests", "20", "--list-repeat", "2", "--crl-repeat", "1", "--crl-large"),
        *("--pg-host", database["HOST"] or "127.0.0.1", "--pg-port", str(database["PORT"] or 5432)),
        *("--pg-user", database["USER"], "--pg-db", f"certportal_scale_smoke_{os.getpid()}"),
        *("--redis-host", redis_host, "--redis-port", str(redis_port), "--redis-db", str(redis_db)),
        *("--output", str(output)),
    ]
    env = {**os.environ, "SCEP_BENCH_NO_REEXEC": "1"}
    if database.get("PASSWORD"):
        env["PGPASSWORD"] = database["PASSWORD"]
    result = subprocess.run(
        command, cwd=REPO, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    assert result.returncode == 0, result.stderr[-4000:]
    assert "| crl |" in result.stdout
    assert "| check-in |" in result.stdout

    results = json.loads(output.read_text())
    measurements = results["measurements"]
    assert set(measurements) == MEASUREMENTS
    assert not [name for name, out in measurements.items() if "error" in out]

    for name, entries in (("crl", 30), ("crl_large", 300)):
        (run,) = measurements[name]["runs"]
        assert run["entries"] == run["entries_expected"] == entries
        assert run["signature_valid"], run
        assert run["openssl_ok"], run
        assert run["der_bytes"] > 0

    ocsp = measurements["ocsp"]
    assert ocsp["answers"] == {"good": 10, "revoked": 10}
    assert ocsp["answers_not_as_expected"] == 0
    assert ocsp["responses_per_s"] > 0

    for name in ("api", "admin"):
        scenarios = measurements[name]["scenarios"]
        assert len(scenarios) == 5
        for label, scenario in scenarios.items():
            assert scenario["status"] == 200, (name, label)
            assert scenario["ms"]["n"] == 2
            assert scenario["plans"]["explained"], (name, label)  # EXPLAIN ANALYZE of the list's SQL
    assert measurements["api"]["scenarios"]["status=issued, page 1"]["results"] == 50

    dashboard = measurements["dashboard"]
    assert dashboard["page_status"] == 200
    assert dashboard["counts"]["revoked"] == 30

    checkin = measurements["checkin"]
    assert checkin["devices"] == 40
    assert checkin["failed"] == 0
    assert checkin["challenges_handed_out"] == 40

    imported = measurements["import"]
    assert imported["job"]["status"] == "done"
    assert imported["job"]["created"] == imported["job"]["rows_done"] == 60
    assert imported["admin_status_fragment"] == {"status": 200, "shows_100_percent": True}
    assert results["data_set"]["certificates_s"] >= 0
