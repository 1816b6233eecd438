"""Metrics under real gunicorn with two workers: a scrape of either adds up both, and what a worker counted
survives its exit (``PROMETHEUS_MULTIPROC_DIR``, gunicorn's ``child_exit`` hook)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from portal.tests.scrape import scrape, status_of, value

BASE_DIR = Path(__file__).resolve().parents[2]
TOKEN = "gunicorn-metrics-token-0123456789"
MALFORMED = {"authority": "", "status": "malformed_request"}
MAX_REQUESTS = 400
#: Seconds the replacement of a killed worker may take to answer (it loads Django first).
NEW_WORKER_DEADLINE = 90.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _gunicorn() -> str:
    path = Path(sys.executable).with_name("gunicorn")
    if not path.exists():
        pytest.fail("gunicorn is not installed in the virtualenv")
    return str(path)


class Web:
    def __init__(self, url: str, metrics_dir: Path, popen: subprocess.Popen[bytes]) -> None:
        self.url = url
        self.metrics_dir = metrics_dir
        self.popen = popen

    def pids(self) -> set[int]:
        """The processes that wrote a counter: ``counter_<pid>.db`` in the multi-process directory."""
        return {int(path.stem.split("_")[1]) for path in self.metrics_dir.glob("counter_*.db")}

    def ocsp_garbage(self) -> None:
        """A malformed OCSP request (no database needed): counted as malformed_request by whichever worker."""
        request = urllib.request.Request(
            f"{self.url}/ocsp/nowhere",
            data=b"not an OCSP request",
            headers={"Content-Type": "application/ocsp-request", "Connection": "close"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200

    def malformed(self) -> float:
        return value(scrape(f"{self.url}/metrics", TOKEN), "certportal_ocsp_responses_total", **MALFORMED)


@pytest.fixture
def web(tmp_path: Path) -> Iterator[Web]:
    port = _free_port()
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    (metrics_dir / "counter_999999.db").write_bytes(b"")  # a previous run's file: emptied at start
    env = {
        **{name: value for name, value in os.environ.items() if name not in {"DATABASE_URL", "REDIS_URL"}},
        "DJANGO_SETTINGS_MODULE": "portal.settings.test",
        "CERTPORTAL_DATA_DIR": str(tmp_path / "data"),
        "CERTPORTAL_METRICS_TOKEN": TOKEN,
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        "GUNICORN_WORKERS": "2",
        "GUNICORN_THREADS": "1",
    }
    log = tmp_path / "gunicorn.log"
    popen = subprocess.Popen(
        [_gunicorn(), "-c", str(BASE_DIR / "portal" / "gunicorn.conf.py"), "--bind", f"127.0.0.1:{port}",
         "portal.wsgi"],
        cwd=BASE_DIR, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT,
    )  # fmt: skip
    running = Web(f"http://127.0.0.1:{port}", metrics_dir, popen)
    try:
        for _ in range(600):  # up to a minute for gunicorn to load the project
            try:
                if status_of(f"{running.url}/metrics") == 403:  # up, and refusing a request without the token
                    break
            except OSError:
                pass
            try:
                popen.wait(timeout=0.1)
            except subprocess.TimeoutExpired:
                continue
            pytest.fail(f"gunicorn exited: {log.read_text(errors='replace')[-3000:]}")
        else:
            pytest.fail(f"gunicorn did not answer: {log.read_text(errors='replace')[-3000:]}")
        yield running
    finally:
        popen.terminate()
        popen.wait(timeout=30)


@pytest.mark.external
def test_a_scrape_adds_up_both_workers_and_keeps_a_dead_workers_counts(web: Web):
    assert 999999 not in web.pids()
    sent = 0
    while len(web.pids()) < 2 and sent < MAX_REQUESTS:  # until both workers have answered one
        web.ocsp_garbage()
        sent += 1
    assert len(web.pids()) == 2, f"one worker answered all {sent} requests"

    # Either worker's scrape says the same total: both processes' files added up.
    assert web.malformed() == sent
    assert web.malformed() == sent

    dead = min(web.pids())
    os.kill(dead, signal.SIGTERM)  # gunicorn starts another worker; child_exit marks this one dead
    # Until the new worker (which loads the project first: seconds on a busy machine) has answered one.
    deadline = time.monotonic() + NEW_WORKER_DEADLINE
    while len(web.pids() - {dead}) < 2 and time.monotonic() < deadline:
        web.ocsp_garbage()
        sent += 1
    assert len(web.pids() - {dead}) == 2, "no new worker answered"

    assert web.malformed() == sent  # the dead worker's counts are still in the sum
