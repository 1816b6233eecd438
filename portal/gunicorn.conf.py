"""gunicorn settings for the web tier (the RA): ``gunicorn -c portal/gunicorn.conf.py portal.wsgi``.

Environment: GUNICORN_BIND, GUNICORN_WORKERS, GUNICORN_THREADS, GUNICORN_TIMEOUT,
GUNICORN_LIMIT_REQUEST_LINE, PROMETHEUS_MULTIPROC_DIR.

Metrics (``core.metrics``, ``/metrics``): every worker writes its counters to files in
``PROMETHEUS_MULTIPROC_DIR`` (a fresh private directory when it is not set), which a scrape of any worker adds
up. The directory is emptied when gunicorn starts (the values of a previous run are gone), and a worker that
exits is marked dead (``child_exit``), so that its live gauges go with it.
"""

import os
import tempfile
from pathlib import Path
from typing import Any

if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="certportal-metrics-")

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
# A GET PKIOperation carries the whole base64 message in the URL: about 3.7 KB for a 2048-bit key, 6 KB for
# a 4096-bit one, more with a chain; NDES takes request lines and header lines of 65,534 bytes (the
# reference's IIS settings), and so does certportal's front door, nginx (deploy/nginx/), which is the
# limit: it answers 414 / 400 above it. gunicorn caps any bounded request line at 8190 bytes, so the line
# is unbounded here (0): gunicorn listens only where nginx reaches it (compose: no published port). A
# gunicorn that clients reach directly should get GUNICORN_LIMIT_REQUEST_LINE=8190 (GET PKIOperation up to
# about 8 KB; POST has no such limit). A header line is bounded at nginx's limit (gunicorn counts its CRLF:
# 65,534 + 2).
limit_request_line = int(os.environ.get("GUNICORN_LIMIT_REQUEST_LINE", "0"))
limit_request_field_size = 65536
# gunicorn's control socket is one path per user; several instances (tests, a dev server) would collide.
control_socket_disable = True
accesslog = "-"
errorlog = "-"
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1")


def on_starting(server: Any) -> None:
    directory = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    for stale in directory.glob("*.db"):
        stale.unlink()


def child_exit(server: Any, worker: Any) -> None:
    from prometheus_client import multiprocess  # noqa: PLC0415 - only gunicorn's master needs it here

    multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]
