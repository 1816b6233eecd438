"""The OCSP responder of each CA (RFC 6960 appendix A), at the AIA URL ``/ocsp/<slug>``.

- POST ``/ocsp/<slug>`` (or ``/ocsp/<slug>/``): the body is the DER request, whatever its Content-Type.
- GET ``/ocsp/<slug>/<base64 of the DER request, %-encoded>``.

Every request gets an OCSP response with HTTP 200 and ``application/ocsp-response``, never a 500:
unreadable input is ``malformedRequest``, another issuer (or an unknown CA) ``unauthorized``, a CA without a
valid responder or a database outage ``tryLater``, anything else ``internalError`` (logged). A successful
GET response may be cached until its nextUpdate (RFC 5019 6.2 headers); everything else is ``no-store``.
"""

from __future__ import annotations

import hashlib
import logging

from cryptography.x509 import ocsp

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.http import http_date
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from ca.crypto.ocsp import MAX_REQUEST_SIZE, OcspRequestError, decode_get_request
from ca.services.ocsp import (
    OcspAnswer,
    OcspResponderUnavailable,
    ocsp_error_answer,
    ocsp_request_answer,
)
from core.outages import dependency_outage

__all__ = ["ocsp_view"]

logger = logging.getLogger(__name__)

CONTENT_TYPE = "application/ocsp-response"


@csrf_exempt
@require_http_methods(["GET", "POST"])
def ocsp_view(request: HttpRequest, slug: str, encoded: str | None = None) -> HttpResponse:
    try:
        der = _request_body(request) if request.method == "POST" else decode_get_request(encoded or "")
        answer = ocsp_request_answer(slug=slug, request_der=der)
    except OcspRequestError as exc:
        logger.info("OCSP request to %s answered %s: %s", slug, exc.status.name, exc)
        answer = ocsp_error_answer(exc.status)
    except OcspResponderUnavailable as exc:
        logger.error("OCSP request to %s answered internalError: %s", slug, exc.message)
        answer = ocsp_error_answer(ocsp.OCSPResponseStatus.INTERNAL_ERROR)
    except Exception as exc:
        # The protocol boundary: an OCSP client gets an OCSP answer, never an HTML 500.
        outage = dependency_outage(exc)
        if outage is not None:  # the database (or the cache) is down: tryLater, not internalError
            logger.exception("OCSP request to %s: %s unavailable, answered tryLater", slug, outage)
            answer = ocsp_error_answer(ocsp.OCSPResponseStatus.TRY_LATER)
        else:
            logger.exception("OCSP request to %s failed, answered internalError", slug)
            answer = ocsp_error_answer(ocsp.OCSPResponseStatus.INTERNAL_ERROR)
    return _response(answer, cacheable=request.method == "GET")


def _request_body(request: HttpRequest) -> bytes:
    """The POST body, refused unread when it announces more than ``MAX_REQUEST_SIZE`` bytes."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError as exc:
        raise OcspRequestError("invalid Content-Length") from exc
    if length > MAX_REQUEST_SIZE:
        raise OcspRequestError(f"request body of {length} bytes; the limit is {MAX_REQUEST_SIZE}")
    body = request.read(MAX_REQUEST_SIZE + 1)
    if len(body) > MAX_REQUEST_SIZE:
        raise OcspRequestError(f"request body over the limit of {MAX_REQUEST_SIZE} bytes")
    return body


def _response(answer: OcspAnswer, *, cacheable: bool) -> HttpResponse:
    response = HttpResponse(answer.der, content_type=CONTENT_TYPE)
    if cacheable and answer.successful and answer.this_update and answer.next_update:
        max_age = max(int((answer.next_update - timezone.now()).total_seconds()), 0)
        response["Cache-Control"] = f"max-age={max_age}, public, no-transform, must-revalidate"
        response["Last-Modified"] = http_date(answer.this_update.timestamp())
        response["Expires"] = http_date(answer.next_update.timestamp())
        response["ETag"] = f'"{hashlib.sha256(answer.der).hexdigest()[:40]}"'
    else:
        response["Cache-Control"] = "no-store"
    return response
