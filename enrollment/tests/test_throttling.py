"""The PKIOperation rate limit counts atomically: concurrent requests cannot slip past it.

Rates are per day here, so that no test runs across a window boundary (windows are aligned to it).
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from django.core.cache import cache
from django.test import RequestFactory
from rest_framework.request import Request

from enrollment.api.throttling import ScepClientThrottle, ScepGlobalThrottle

RATES_5 = {"scep_client": "5/day", "scep_global": "9/day"}
RATES_1 = {"scep_client": "1/day", "scep_global": "9/day"}


def _request(address: str) -> Request:
    return Request(RequestFactory().post("/scep/x?operation=PKIOperation", REMOTE_ADDR=address))


def test_concurrent_requests_get_exactly_the_limit(monkeypatch):
    monkeypatch.setattr(ScepClientThrottle, "THROTTLE_RATES", RATES_5)
    cache.clear()
    barrier = threading.Barrier(16)

    def attempt(_: int) -> bool:
        throttle = ScepClientThrottle()
        barrier.wait(timeout=10)
        return throttle.allow_request(_request("192.0.2.7"), None)

    try:
        with ThreadPoolExecutor(max_workers=16) as pool:
            allowed = list(pool.map(attempt, range(16)))
    finally:
        cache.clear()
    assert allowed.count(True) == 5


def test_the_client_limit_is_per_address_and_the_global_limit_is_shared(monkeypatch):
    rates = {"scep_client": "2/day", "scep_global": "3/day"}
    monkeypatch.setattr(ScepClientThrottle, "THROTTLE_RATES", rates)
    monkeypatch.setattr(ScepGlobalThrottle, "THROTTLE_RATES", rates)
    cache.clear()
    try:
        per_client = [ScepClientThrottle().allow_request(_request(ip), None) for ip in ("192.0.2.1",) * 3]
        other_client = ScepClientThrottle().allow_request(_request("192.0.2.2"), None)
        overall = [ScepGlobalThrottle().allow_request(_request(f"192.0.2.{n}"), None) for n in range(10, 14)]
        refused = ScepClientThrottle()
        refused.allow_request(_request("192.0.2.1"), None)
    finally:
        cache.clear()
    assert per_client == [True, True, False]
    assert other_client is True
    assert overall == [True, True, True, False]
    wait = refused.wait()
    assert wait is not None
    assert 0 < wait <= 86400


def test_a_forwarded_for_header_does_not_change_the_client(monkeypatch):
    monkeypatch.setattr(ScepClientThrottle, "THROTTLE_RATES", RATES_1)
    cache.clear()
    try:
        first = ScepClientThrottle().allow_request(_request("192.0.2.9"), None)
        spoofed = Request(
            RequestFactory().post(
                "/scep/x?operation=PKIOperation", REMOTE_ADDR="192.0.2.9", HTTP_X_FORWARDED_FOR="203.0.113.5"
            )
        )
        second = ScepClientThrottle().allow_request(spoofed, None)
    finally:
        cache.clear()
    assert (first, second) == (True, False)


def test_only_pkioperation_is_counted(monkeypatch):
    monkeypatch.setattr(ScepClientThrottle, "THROTTLE_RATES", RATES_1)
    cache.clear()
    try:
        caps = Request(RequestFactory().get("/scep/x?operation=GetCACaps", REMOTE_ADDR="192.0.2.10"))
        assert all(ScepClientThrottle().allow_request(caps, None) for _ in range(5))
        assert ScepClientThrottle().allow_request(_request("192.0.2.10"), None) is True
        assert ScepClientThrottle().allow_request(_request("192.0.2.10"), None) is False
    finally:
        cache.clear()
