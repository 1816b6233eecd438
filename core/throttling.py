"""A DRF throttle on an atomic fixed-window counter in the cache (Redis INCR in production).

DRF's own rate throttles keep a history list per client and write it back (read-modify-write), so that
concurrent requests can slip past the limit; here each request increments one counter per window. A
subclass names its ``scope`` (its rate is ``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"][scope]``, in the form
of ``core.rates``), a ``default_rate`` used when the settings give none (never "unlimited"), and
``ident``: whom the request counts against, or None for a request it does not count.

In the embedded default the cache is per process (locmem), so each gunicorn worker counts on its own.
"""

from __future__ import annotations

import time
from typing import Any, ClassVar

from django.core.cache import cache
from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle

from core.rates import rate_parse

__all__ = ["FixedWindowThrottle"]


class FixedWindowThrottle(BaseThrottle):
    scope: ClassVar[str] = ""
    default_rate: ClassVar[str] = ""

    def __init__(self) -> None:
        rates: dict[str, Any] = api_settings.DEFAULT_THROTTLE_RATES or {}
        self.limit, self.duration = rate_parse(str(rates.get(self.scope) or self.default_rate))
        self._wait = 0.0

    def ident(self, request: Request, view: Any) -> str | None:
        raise NotImplementedError

    def allow_request(self, request: Request, view: Any) -> bool:
        ident = self.ident(request, view)
        if ident is None:
            return True
        now = time.time()
        window = int(now // self.duration)
        key = f"certportal:throttle:{self.scope}:{ident}:{window}"
        cache.add(key, 0, timeout=self.duration + 1)
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr: start the window again
            cache.add(key, 1, timeout=self.duration + 1)
            count = 1
        if count <= self.limit:
            return True
        self._wait = (window + 1) * self.duration - now
        return False

    def wait(self) -> float | None:
        return self._wait
