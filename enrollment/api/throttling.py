"""Rate limits of PKIOperation (the other operations are not counted): per client address, and for the
whole service.

``core.throttling.FixedWindowThrottle``: fixed-window counters incremented atomically in the cache (Redis
INCR in production), so that concurrent requests cannot slip past the limit as they can with DRF's
read-modify-write history throttles; what happens when Redis is down is
``CERTPORTAL_RATE_LIMIT_WHEN_STORE_DOWN`` (there). Rates come from REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
("scep_client", "scep_global"). In the embedded default the cache is per process, so each gunicorn worker
counts on its own.
"""

from __future__ import annotations

from typing import Any, ClassVar

from rest_framework.request import Request

from core.throttling import FixedWindowThrottle

__all__ = ["ScepClientThrottle", "ScepGlobalThrottle"]


class _PkiOperationThrottle(FixedWindowThrottle):
    def ident(self, request: Request, view: Any) -> str | None:
        if request.query_params.get("operation", "").strip().lower() != "pkioperation":
            return None  # only PKIOperation costs anything; GetCACaps/GetCACert are served from memory
        return self.who(request)

    def who(self, request: Request) -> str:
        raise NotImplementedError


class ScepClientThrottle(_PkiOperationThrottle):
    scope: ClassVar[str] = "scep_client"
    default_rate: ClassVar[str] = "120/min"

    def who(self, request: Request) -> str:
        return self.get_ident(request)


class ScepGlobalThrottle(_PkiOperationThrottle):
    scope: ClassVar[str] = "scep_global"
    default_rate: ClassVar[str] = "6000/min"

    def who(self, request: Request) -> str:
        return "all"
