"""A DRF throttle on an atomic fixed-window counter in the cache (Redis INCR in production).

DRF's own rate throttles keep a history list per client and write it back (read-modify-write), so that
concurrent requests can slip past the limit; here each request increments one counter per window. A
subclass names its ``scope`` (its rate is ``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"][scope]``, in the form
of ``core.rates``), a ``default_rate`` used when the settings give none (never "unlimited"), and
``ident``: whom the request counts against, or None for a request it does not count.

In the embedded default the cache is per process (locmem), so each gunicorn worker counts on its own.

When the counters' store (Redis) cannot be reached, ``CERTPORTAL_RATE_LIMIT_WHEN_STORE_DOWN`` decides:
``open`` (the default) lets the request through uncounted and logs a warning, so that an outage of the
cache alone does not stop enrollment and check-in; ``closed`` refuses it as an outage, 503 with
Retry-After (``core.outages``), where an unlimited endpoint is the greater risk.
"""

from __future__ import annotations

import logging
import time
from typing import Any, ClassVar, Literal

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle

from core.conf import AppSettings, SettingsModel
from core.outages import dependency_outage
from core.rates import rate_parse

__all__ = ["FixedWindowThrottle", "ThrottleSettings", "throttle_settings"]

logger = logging.getLogger(__name__)


class ThrottleSettings(SettingsModel):
    #: What a rate limit does when its counters' store is down: let the request through, or refuse it (503).
    RATE_LIMIT_WHEN_STORE_DOWN: Literal["open", "closed"] = "open"


throttle_settings = AppSettings(ThrottleSettings)


class FixedWindowThrottle(BaseThrottle):
    scope: ClassVar[str] = ""
    default_rate: ClassVar[str] = ""
    #: The rates by scope; None: REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] when the throttle is made.
    THROTTLE_RATES: ClassVar[dict[str, Any] | None] = None

    def __init__(self) -> None:
        rates = (
            self.THROTTLE_RATES if self.THROTTLE_RATES is not None else api_settings.DEFAULT_THROTTLE_RATES
        )
        self.limit, self.duration = rate_parse(str((rates or {}).get(self.scope) or self.default_rate))
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
        try:
            count = self._count(key)
        except Exception as exc:
            outage = dependency_outage(exc)
            if outage is None or throttle_settings().RATE_LIMIT_WHEN_STORE_DOWN == "closed":
                raise  # an outage is answered 503 with Retry-After by the endpoint's exception handler
            logger.warning(
                "rate limit %s not counted: its store (%s) is unavailable: %s", self.scope, outage, exc
            )
            return True
        if count <= self.limit:
            return True
        self._wait = (window + 1) * self.duration - now
        return False

    def _count(self, key: str) -> int:
        store = caches["default"]
        if isinstance(store, RedisCache):
            return _redis_count(store, key, self.duration + 1)
        store.add(key, 0, timeout=self.duration + 1)
        try:
            return int(store.incr(key))
        except ValueError:  # expired between add and incr: start the window again
            store.add(key, 1, timeout=self.duration + 1)
            return 1

    def wait(self) -> float | None:
        return self._wait


def _redis_count(store: RedisCache, key: str, timeout: int) -> int:
    """INCR and the window's expiry in one round trip (a MULTI/EXEC pipeline): Django's ``add`` + ``incr``
    took three (``incr`` asks EXISTS first), twice per PKIOperation, about 9 % of a web process's samples
    under load (docs/benchmarks.md). ``EXPIRE ... NX`` (Redis 7) sets the expiry only on the window's first
    request, as ``add`` did. The counter is a plain integer, as Django's Redis cache stores integers.
    """
    name = store.make_and_validate_key(key)
    client = store._cache.get_client(name, write=True)  # Django's own Redis client
    pipeline = client.pipeline(transaction=True)
    pipeline.incr(name)
    pipeline.expire(name, timeout, nx=True)
    count, _ = pipeline.execute()
    return int(count)
