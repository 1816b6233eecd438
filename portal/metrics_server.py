"""A Celery worker's own ``/metrics``, on ``CERTPORTAL_METRICS_PORT``: what its processes counted.

A worker has no web server; when ``CERTPORTAL_METRICS_PORT`` is set, its main process serves the counters and
histograms of all its pool processes (tasks' wait and run times, the CA's OCSP and import counters, ...) on
that port, from the multi-process directory that ``portal.celery`` sets up, with the same access rules as the
web tier's ``/metrics`` (token and/or networks; the peer's address, as no proxy is in front). The state
gauges (certificates, CRLs, the queue) are the web tier's: they come from the database, whoever asks.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from portal.metrics import metrics_allowed, metrics_registry

__all__ = ["metrics_app", "worker_metrics_serve"]

logger = logging.getLogger(__name__)

StartResponse = Callable[..., Any]


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """No access log line per scrape."""


def metrics_app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    if environ.get("PATH_INFO", "/") not in {"/", "/metrics"}:
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found\n"]
    allowed = metrics_allowed(
        address=environ.get("REMOTE_ADDR"), authorization=environ.get("HTTP_AUTHORIZATION", "")
    )
    if allowed is None:
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"metrics are not enabled\n"]
    if not allowed:
        start_response("403 Forbidden", [("Content-Type", "text/plain")])
        return [b"forbidden\n"]
    body = generate_latest(metrics_registry(state=False))
    start_response("200 OK", [("Content-Type", CONTENT_TYPE_LATEST), ("Content-Length", str(len(body)))])
    return [body]


def worker_metrics_serve(*, port: int, address: str = "") -> WSGIServer:
    """Serve ``metrics_app`` on ``address:port`` in a daemon thread; the server (``shutdown()`` stops it)."""
    server = make_server(
        address, port, metrics_app, server_class=_ThreadingServer, handler_class=_QuietHandler
    )
    thread = threading.Thread(target=server.serve_forever, name="certportal-metrics", daemon=True)
    thread.start()
    logger.info("worker metrics on port %s", server.server_port)
    return server
