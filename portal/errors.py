"""The project's 500 handler: an outage of a dependency is a 503 with Retry-After, never a 500 page.

Django calls ``handler500`` for any exception that escapes a view or a middleware (with DEBUG off), while
the exception is still being handled, so the handler can see what it was. The SCEP endpoint and the API
answer outages themselves (their exception handlers); this catches the rest: the admin, the dashboard,
downloads, and what fails around a view (the session, the authentication, the audit actor).
"""

from __future__ import annotations

import logging
import sys

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.defaults import server_error as django_server_error

from core.outages import RETRY_AFTER_SECONDS, dependency_outage

__all__ = ["server_error"]

logger = logging.getLogger(__name__)


def server_error(request: HttpRequest) -> HttpResponse:
    exc = sys.exc_info()[1]
    outage = dependency_outage(exc) if exc is not None else None
    if outage is None:
        return django_server_error(request)
    logger.error("%s unavailable while answering %s %s", outage, request.method, request.path)
    text = f"temporarily unavailable ({outage}); retry later"
    response: HttpResponse
    if request.path.startswith("/api/"):
        response = JsonResponse({"detail": text, "code": "unavailable"}, status=503)
    else:
        response = HttpResponse(f"503 Service Unavailable: {text}\n", status=503, content_type="text/plain")
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    return response
