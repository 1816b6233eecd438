"""Rate limits of PKIOperation (the other operations are not counted): per client address, and for the
whole service.

Fixed-window counters incremented atomically in the cache (Redis INCR in production), so that
concurrent requests cannot slip past the limit as they can with DRF's read-modify-write history
throttles. Rates come from REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] ("scep_client", "scep_global").
In the embedded default the cache is per process, so each gunicorn worker counts on its own.
"""

from __future__ import annotations

import time
from typing import Any

from django.core.cache import cache
from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle

__all__ = ["ScepClientThrottle", "ScepGlobalThrottle"]

_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class _WindowThrottle(BaseThrottle):
    scope = ""
    #: As DRF's SimpleRateThrottle: the rates by scope (REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]).
    THROTTLE_RATES: dict[str, Any] = api_settings.DEFAULT_THROTTLE_RATES

    def __init__(self) -> None:
        rate = self.THROTTLE_RATES[self.scope]
        count, _, period = str(rate).partition("/")
        self.limit = int(count)
        self.duration = _PERIODS[period[0]]
        self._wait = 0.0

    def ident(self, request: Request) -> str:
        raise NotImplementedError

    def allow_request(self, request: Request, view: Any) -> bool:
        if request.query_params.get("operation", "").strip().lower() != "pkioperation":
            return True  # only PKIOperation costs anything; GetCACaps/GetCACert are served from memory
        now = time.time()
        window = int(now // self.duration)
        key = f"certportal:throttle:{self.scope}:{self.ident(request)}:{window}"
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


class ScepClientThrottle(_WindowThrottle):
    scope = "scep_client"

    def ident(self, request: Request) -> str:
        return self.get_ident(request)


class ScepGlobalThrottle(_WindowThrottle):
    scope = "scep_global"

    def ident(self, request: Request) -> str:
        return "all"
