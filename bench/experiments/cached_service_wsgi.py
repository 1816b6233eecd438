"""Experiment: serve portal.wsgi with the SCEP service lookup cached per process (30 s).

``enrollment.views._service`` runs a ``select_related`` query over eight tables on every SCEP request
(GetCACaps included). This wraps it with a small time-based cache to measure what that query costs.
Not for production: a changed service would be seen up to 30 s late.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any

from portal.wsgi import application  # first: sets Django up

if TYPE_CHECKING:
    from enrollment.models import ScepService

__all__ = ["application"]

TTL_SECONDS = 30.0


def _install() -> None:
    from enrollment import views  # noqa: PLC0415 - only once Django is set up

    uncached = views._service
    cache: dict[tuple[str | None, tuple[str, ...]], tuple[float, Any]] = {}
    lock = threading.Lock()

    def cached(slug: str | None, *related: str) -> ScepService:
        now = time.monotonic()
        with lock:
            hit = cache.get((slug, related))
        if hit is not None and now - hit[0] < TTL_SECONDS:
            service: ScepService = hit[1]
            return service
        service = uncached(slug, *related)
        with lock:
            cache[(slug, related)] = (now, service)
        return service

    views._service = cached


_install()
