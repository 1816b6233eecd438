"""The fixed-window throttle's counter on a real Redis: one round trip per request, exactly the limit let
through under concurrency, the window's expiry set once."""

from __future__ import annotations

import os
import threading
import uuid
from typing import Any, ClassVar

import pytest

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.test import override_settings

from core.throttling import FixedWindowThrottle


def _redis_url() -> str:
    url = os.environ.get("REDIS_URL", "")
    if not url:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("needs REDIS_URL; CI must provide it")
        pytest.skip("needs REDIS_URL")
    return url


class _Throttle(FixedWindowThrottle):
    scope = "redis-test"
    default_rate = "25/h"  # an hour: the 100 requests fall in one window
    THROTTLE_RATES: ClassVar[dict[str, Any] | None] = {}

    def ident(self, request: Any, view: Any) -> str | None:
        return str(request)


def test_concurrent_requests_get_exactly_the_limit_in_one_round_trip_each() -> None:
    cache_settings = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": _redis_url()}
    }
    with override_settings(CACHES=cache_settings):
        store = caches["default"]
        assert isinstance(store, RedisCache)
        client = store._cache.get_client(None, write=True)
        ident = f"client-{uuid.uuid4().hex}"
        allowed: list[bool] = []
        lock = threading.Lock()
        start = threading.Barrier(20)

        def ask() -> None:
            start.wait(10)
            for _ in range(5):
                result = _Throttle().allow_request(ident, None)  # type: ignore[arg-type]
                with lock:
                    allowed.append(result)

        threads = [threading.Thread(target=ask) for _ in range(20)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)

        assert len(allowed) == 100
        assert allowed.count(True) == 25  # the limit, not one more, whatever the interleaving
        keys = list(client.scan_iter(match=f"*certportal:throttle:redis-test:{ident}:*"))
        assert len(keys) == 1
        counted = client.get(keys[0])
        assert counted is not None
        assert int(counted) == 100  # every request counted once
        assert 0 < client.ttl(keys[0]) <= 3601  # the window's expiry, set by its first request
        commands: list[str] = []
        real = type(client).pipeline

        def counting_pipeline(self: Any, *args: Any, **kwargs: Any) -> Any:
            commands.append("pipeline")
            return real(self, *args, **kwargs)

        type(client).pipeline = counting_pipeline  # type: ignore[method-assign]
        try:
            _Throttle().allow_request(f"{ident}-x", None)  # type: ignore[arg-type]
        finally:
            type(client).pipeline = real  # type: ignore[method-assign]
        assert commands == ["pipeline"]
        client.delete(*keys, *client.keys(f"*certportal:throttle:redis-test:{ident}-x:*"))
