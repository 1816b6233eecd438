"""The SCEP endpoint (RFC 8894 section 4), a DRF APIView.

Paths: /scep/<slug> for each SCEP service; the default service also answers at /scep, at NDES's
/certsrv/mscep/mscep.dll (and .../mscep.dll/pkiclient.exe, as Intune profiles send it) and at the
classic /cgi-bin/pkiclient.exe. A device is authenticated by its SCEP message and challenge, so
there is no session or token authentication here.

Without an operation, every SCEP path answers 403 in plain text, as NDES does once the Intune Certificate
Connector is installed (the reference's check of the connector: "It should return a 403 error"). Where
``CERTPORTAL_NDES_TEST_PAGE`` allows it (the embedded default), a browser (``Accept: text/html``) gets the
NDES test page instead, naming the service and its CA. /certsrv/mscep_admin/, where stock NDES hands out
challenges, is a 404: certportal has no such page (``ndes_admin_view``).

DRF as it is meant: the body parser (``PkiMessageParser``: raw DER, size-bounded), the throttles (only
PKIOperation is counted), one renderer that passes the encoded answer through, and one exception
handler (``scep_exception_handler``) that turns every error into the endpoint's plain-text answer. Every
answer is a ``Response``: a CertRep, a DER certificate bundle, the capabilities, or plain text.
"""

from __future__ import annotations

import base64
import binascii
import logging
import threading
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.template.loader import render_to_string
from django.views.decorators.csrf import csrf_exempt
from rest_framework.exceptions import APIException, MethodNotAllowed, Throttled
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.addresses import client_address
from core.outages import RETRY_AFTER_SECONDS, dependency_outage
from enrollment import scep
from enrollment.api.parsers import PkiMessageParser, RequestTooLarge
from enrollment.api.renderers import ScepRenderer
from enrollment.api.throttling import ScepClientThrottle, ScepGlobalThrottle
from enrollment.conf import enrollment_settings
from enrollment.models import ScepService
from enrollment.ra import RaUnavailable, ra_identity
from enrollment.selectors import scep_service_lookup
from enrollment.services.events import scep_event_record
from enrollment.services.pki_operation.exchange import ScepReply
from enrollment.services.pki_operation.handle import pki_operation_handle, scep_text_reply
from eventlog.choices import EventId, EventLevel

__all__ = ["ScepView", "ndes_admin_view", "scep_exception_handler"]

logger = logging.getLogger(__name__)

_OPERATIONS = {name.lower(): name for name in ("GetCACaps", "GetCACert", "GetNextCACert", "PKIOperation")}
#: What each operation reads of its SCEP service, joined in the one query that loads it.
_RELATED: dict[str | None, tuple[str, ...]] = {
    None: ("authority",),
    "GetCACert": ("registration_authority",),
    "GetNextCACert": ("registration_authority", "next_registration_authority"),
    # The general-purpose template is what most requests are issued under (NDES's default mapping).
    "PKIOperation": ("registration_authority", "authority", "general_purpose_template"),
}


def _response(reply: ScepReply) -> Response:
    return Response(
        reply.body, status=reply.status_code, content_type=reply.content_type, headers=reply.headers
    )


def _text(status: int, text: str, *, retry_after: int | None = None) -> Response:
    return _response(scep_text_reply(status, text, retry_after=retry_after))


def scep_exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    """Protocol-level answers only: plain text with the right status, never a DRF error page or a 500 page."""
    if isinstance(exc, Throttled):
        wait = getattr(exc, "wait", None)  # set by DRF, missing from the stubs
        return _text(429, "too many SCEP requests; retry later", retry_after=int(wait) + 1 if wait else None)
    if isinstance(exc, MethodNotAllowed):
        response = _text(405, f"method {context['request'].method} not allowed; use GET or POST")
        response["Allow"] = "GET, POST"
        return response
    if isinstance(exc, Http404):
        return _text(404, str(exc) or "no such SCEP service")
    if isinstance(exc, APIException):
        return _text(exc.status_code, str(exc.detail))
    if isinstance(exc, RaUnavailable):
        return _response(_ra_unavailable(exc))
    outage = dependency_outage(exc)
    if outage is not None:
        logger.error("%s unavailable while answering SCEP", outage, exc_info=exc)
        return _text(
            503, "the SCEP service is temporarily unavailable; retry", retry_after=RETRY_AFTER_SECONDS
        )
    logger.error("unexpected error in the SCEP endpoint", exc_info=exc)
    return _text(500, "internal error; the event has been logged")


def _ra_unavailable(exc: RaUnavailable) -> ScepReply:
    logger.error("SCEP RA unavailable: %s", exc.message)
    return scep_text_reply(503, "the SCEP service is not available (RA key)", retry_after=30)


def _plain(reply: ScepReply) -> HttpResponse:
    """A reply as a plain Django response (the GET fast path, outside DRF)."""
    response = HttpResponse(reply.body, status=reply.status_code, content_type=reply.content_type)
    for name, value in reply.headers.items():
        response[name] = value
    return response


class ScepView(APIView):
    #: OPTIONS, PUT, DELETE get a plain-text 405 (not DRF's metadata answer).
    http_method_names = ["get", "post", "head"]
    authentication_classes = []
    permission_classes = [AllowAny]
    parser_classes = [PkiMessageParser]
    renderer_classes = [ScepRenderer]
    throttle_classes = [ScepClientThrottle, ScepGlobalThrottle]
    schema = None  # a device protocol, not part of the REST API's OpenAPI document

    def get_exception_handler(self) -> Any:
        return scep_exception_handler

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        """GetCACaps and GetCACert by GET, the bulk of a fleet's requests, are answered without DRF's request
        wrapping, negotiation and rendering (a sixth of their work in process; they are neither parsed nor
        throttled).
        Anything unusual (an unknown or disabled service, the database down) goes the DRF way below, which
        gives every error its plain-text answer.
        """
        if request.method == "GET":
            operation = _OPERATIONS.get(request.GET.get("operation", "").strip().lower())
            if operation in ("GetCACaps", "GetCACert"):
                try:
                    service = scep_service_lookup(kwargs.get("slug"), _RELATED.get(operation, ()))
                except Exception:  # the DRF path below answers (and logs) it: an outage, a last copy
                    service = None
                if service is not None and service.enabled:
                    _remember(kwargs.get("slug"), service)
                    try:
                        reply = _get_ca_caps(service) if operation == "GetCACaps" else _get_ca_cert(service)
                    except RaUnavailable as exc:  # recorded once (10302) by ra_identity: not tried again
                        reply = _ra_unavailable(exc)
                    return _plain(reply)
        return super().dispatch(request, *args, **kwargs)

    def get(self, request: Request, slug: str | None = None) -> Response:
        operation = _operation(request)
        service = _service(slug, *_RELATED.get(operation, ()))
        if operation is None:
            if "operation" in request.query_params:
                return _text(400, f"unknown operation {request.query_params['operation'][:64]!r}")
            return _no_operation(request, service)
        if operation == "GetCACaps":
            return _response(_get_ca_caps(service))
        if operation == "GetCACert":
            return _response(_get_ca_cert(service))
        if operation == "GetNextCACert":
            return _get_next_ca_cert(service)
        message = request.query_params.get("message", "")
        limit = enrollment_settings().SCEP_MAX_MESSAGE_SIZE
        if len(message) > limit * 4 // 3 + 4:
            text = f"message parameter longer than the limit of {limit} bytes (decoded); use POST"
            _record_http_refusal(service, request, text)
            return _text(414, text)
        try:
            der = _decode_message_parameter(message)
        except ValueError as exc:
            _record_http_refusal(service, request, str(exc))
            return _text(400, str(exc))
        return _response(
            pki_operation_handle(service=service, der=der, client_address=_client_address(request))
        )

    def post(self, request: Request, slug: str | None = None) -> Response:
        operation = _operation(request)
        service = _service(slug, *_RELATED.get(operation, ()))
        if operation != "PKIOperation":
            return _text(400, "POST is for operation=PKIOperation only")
        chunked = "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower()
        if chunked and not request.META.get("CONTENT_LENGTH"):
            # The body cannot be sized before reading it (and Django reads nothing without a length).
            _record_http_refusal(service, request, "PKIOperation POST without Content-Length")
            return _text(411, "Content-Length required: send the PKIOperation body with its length")
        try:
            der: object = request.data
        except RequestTooLarge as exc:
            _record_http_refusal(service, request, str(exc.detail))
            raise
        if not isinstance(der, bytes) or not der:
            _record_http_refusal(service, request, "empty PKIOperation body")
            return _text(400, "empty PKIOperation body")
        return _response(
            pki_operation_handle(service=service, der=der, client_address=_client_address(request))
        )


#: A SCEP path without an operation, as NDES with the Intune Certificate Connector answers it (403).
NO_OPERATION_TEXT = (
    "403 Forbidden: this is a SCEP endpoint; send operation=GetCACaps, GetCACert or PKIOperation"
)
#: /certsrv/mscep_admin/: stock NDES hands out challenges there; certportal does not.
NDES_ADMIN_TEXT = (
    "404 Not Found: certportal has no NDES admin page (mscep_admin); one-time challenges come with the "
    "device check-in, a SCEP service's static challenge is set by an administrator"
)


def _no_operation(request: Request, service: ScepService) -> Response:
    """403 text; the NDES test page for a browser when ``CERTPORTAL_NDES_TEST_PAGE`` allows it."""
    browser = "text/html" in request.META.get("HTTP_ACCEPT", "").lower()
    if browser and enrollment_settings().NDES_TEST_PAGE:
        page = render_to_string("enrollment/scep_index.html", {"service": service, "request": request})
        return Response(page.encode("utf-8"), content_type="text/html; charset=utf-8")
    return _text(403, NO_OPERATION_TEXT)


@csrf_exempt
def ndes_admin_view(request: HttpRequest) -> HttpResponse:
    """/certsrv/mscep_admin/ (any method, any path below it): 404 in plain text, never a challenge."""
    return HttpResponse(
        (NDES_ADMIN_TEXT + "\n").encode("utf-8"), status=404, content_type="text/plain; charset=utf-8"
    )


def _operation(request: Request) -> str | None:
    """The operation, case-insensitive as NDES accepts it."""
    return _OPERATIONS.get(request.query_params.get("operation", "").strip().lower())


def _client_address(request: Request) -> str | None:
    """The device's address behind the trusted proxies (nginx in compose), not the proxy's."""
    return client_address(request)


def _decode_message_parameter(message: str) -> bytes:
    """Standard base64 of the DER message. Tolerated: '+' decoded to a space by a client that did not
    %-escape it, URL-safe '-' and '_', missing padding, and line breaks.
    """
    if not message:
        raise ValueError("PKIOperation by GET needs a message parameter")
    cleaned = (
        message.replace(" ", "+").replace("-", "+").replace("_", "/").replace("\r", "").replace("\n", "")
    )
    cleaned += "=" * (-len(cleaned) % 4)
    try:
        return base64.b64decode(cleaned, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"the message parameter is not base64: {exc}") from exc


def _record_http_refusal(service: ScepService, request: Request, text: str) -> None:
    scep_event_record(
        event_id=EventId.SCEP_MALFORMED_REQUEST,
        level=EventLevel.WARNING,
        message=text,
        service=service,
        client_address=_client_address(request),
    )


# --- service lookup, with a last-known copy for GetCACaps/GetCACert when the database is down ----------

_known_services: dict[str, ScepService] = {}
_known_lock = threading.Lock()


def _service(slug: str | None, *related: str) -> ScepService:
    """The SCEP service, fresh from the database on every request (configuration changes apply at once).

    Only the relations the operation needs are joined: a wide ``select_related`` cost PostgreSQL more to
    plan than the rest of a GetCACaps (docs/benchmarks.md); the others load by primary key when used. The
    lookup is compiled once per process (``scep_service_lookup``): compiling it was most of a GetCACaps.
    """
    key = slug or ""
    try:
        service = scep_service_lookup(slug, related)
    except Exception as exc:
        if dependency_outage(exc) is None:
            raise
        with _known_lock:
            known = _known_services.get(key)
        if known is None:
            raise
        return known
    if service is None or not service.enabled:
        raise Http404(f"no SCEP service {slug!r}" if slug else "no default SCEP service is configured")
    _remember(slug, service)
    return service


def _remember(slug: str | None, service: ScepService) -> None:
    """The last copy seen of each service, for GetCACaps/GetCACert while the database is down."""
    with _known_lock:
        _known_services[slug or ""] = service


def _get_ca_caps(service: ScepService) -> ScepReply:
    policy = scep.AlgorithmPolicy(allow_legacy=service.allow_legacy_algorithms)
    keywords = scep.capabilities(
        policy, renewal=service.allow_renewal, next_ca_cert=service.next_registration_authority_id is not None
    )
    body = ("\n".join(keywords) + "\n").encode("ascii")
    return ScepReply(status_code=200, content_type="text/plain; charset=us-ascii", body=body)


def _get_ca_cert(service: ScepService) -> ScepReply:
    """RA mode, as NDES answers: a degenerate certs-only PKCS#7 with the RA certificate, then the CA chain."""
    ra = ra_identity(service.registration_authority, service_slug=service.slug)
    return ScepReply(status_code=200, content_type=scep.CONTENT_TYPE_CA_RA_CERT, body=ra.ca_ra_bundle)


def _get_next_ca_cert(service: ScepService) -> Response:
    if service.next_registration_authority is None:
        return _text(
            404, "no CA rollover is configured for this SCEP service (GetNextCACert is not advertised)"
        )
    current = ra_identity(service.registration_authority, service_slug=service.slug)
    upcoming = ra_identity(service.next_registration_authority, service_slug=service.slug)
    body = scep.build_next_ca_cert(
        [upcoming.certificate, *upcoming.ca_chain],
        signer_certificate=current.certificate,
        signer_key=current.key,
        digest=scep.DigestAlgorithm.SHA256,
    )
    return Response(body, content_type=scep.CONTENT_TYPE_NEXT_CA_CERT)
