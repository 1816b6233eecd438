"""The API's exception handler: business-rule errors become 4xx answers with a message, a dependency's
outage (database, cache, broker: ``core.outages``) a 503 with Retry-After.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import ProtectedError
from rest_framework import status
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.views import exception_handler as drf_exception_handler

from core.exceptions import ApplicationError
from core.outages import RETRY_AFTER_SECONDS, dependency_outage

__all__ = ["exception_handler"]

logger = logging.getLogger(__name__)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, ApplicationError):
        exc.record()  # the refused work is rolled back by now: what the refusal leaves in the logs
        body: dict[str, Any] = {"detail": exc.message, "code": exc.code}
        if exc.extra:
            body["extra"] = exc.extra
        return Response(body, status=exc.http_status)
    if isinstance(exc, DjangoValidationError):
        return Response(as_serializer_error(exc), status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, ProtectedError):
        names = sorted({str(obj._meta.verbose_name_plural) for obj in exc.protected_objects})
        return Response(
            {"detail": f"still in use by {', '.join(names)}; remove those first", "code": "protected"},
            status=status.HTTP_409_CONFLICT,
        )
    outage = dependency_outage(exc)
    if outage is not None:
        logger.error("%s unavailable while answering the API", outage, exc_info=exc)
        response = Response(
            {"detail": f"temporarily unavailable ({outage}); retry later", "code": "unavailable"},
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
        )
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
    return drf_exception_handler(exc, context)
