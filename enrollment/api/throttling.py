"""Rate limits of PKIOperation: per client address, and for the whole service."""

from __future__ import annotations

from typing import Any

from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

__all__ = ["ScepClientThrottle", "ScepGlobalThrottle"]


class ScepClientThrottle(SimpleRateThrottle):
    scope = "scep_client"

    def get_cache_key(self, request: Request, view: Any) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class ScepGlobalThrottle(SimpleRateThrottle):
    scope = "scep_global"

    def get_cache_key(self, request: Request, view: Any) -> str:
        return self.cache_format % {"scope": self.scope, "ident": "all"}
