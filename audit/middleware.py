"""The actor of a request (admin, API, check-in, SCEP): ``MIDDLEWARE``, after the authentication
middleware. The user is read when a row is written, so DRF's token and device authentication, which run in
the view, are seen.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponseBase

from audit.context import request_scope

__all__ = ["AuditActorMiddleware"]


class AuditActorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        with request_scope(request):
            return self.get_response(request)
