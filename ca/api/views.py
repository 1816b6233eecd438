"""CA API: authorities (read, publish templates, downloads), templates (CRUD), requests, certificates."""

from __future__ import annotations

from typing import ClassVar, NoReturn

from cryptography.hazmat.primitives.serialization import Encoding

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from ca.api.filtersets import CertificateRequestFilterSet, IssuedCertificateFilterSet
from ca.api.pagination import EstimatedCountPagination
from ca.api.serializers import (
    CertificateAuthoritySerializer,
    CertificateRequestDenyInputSerializer,
    CertificateRequestSerializer,
    CertificateRequestSubmitInputSerializer,
    CertificateRevokeInputSerializer,
    CertificateRevokeResultSerializer,
    CertificateTemplateSerializer,
    IssuedCertificateSerializer,
    RevocationRequestSerializer,
)
from ca.conf import ca_settings
from ca.models import (
    CertificateAuthority,
    CertificateRequest,
    CertificateTemplate,
    IssuedCertificate,
    RevocationRequest,
)
from ca.selectors import crl_get_latest
from ca.services.revocation_requests import certificate_revoke_by_admin, revocation_denied_record
from ca.services.submission import (
    certificate_request_approve,
    certificate_request_deny,
    certificate_request_submit,
    certificate_request_wait,
)

__all__ = [
    "CertificateAuthorityViewSet",
    "CertificateRequestViewSet",
    "CertificateTemplateViewSet",
    "IssuedCertificateViewSet",
    "RevocationRequestViewSet",
]

#: How long an API call waits for the CA worker before answering 202 Accepted.
API_WAIT_SECONDS = 10.0


def _actor(request: Request) -> str:
    return f"api:{request.user.get_username()}"


class CertificateAuthorityViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,  # type: ignore[type-arg]
):
    """Certificate authorities. Created with ``manage.py init_ca`` on the CA side; here: read, enable or
    disable, choose the templates each CA issues, download the certificate, chain and CRL.
    """

    queryset = CertificateAuthority.objects.select_related("parent").prefetch_related("published_templates")
    serializer_class = CertificateAuthoritySerializer
    lookup_field = "slug"
    filterset_fields: ClassVar[list[str]] = ["enabled", "key_type"]
    ordering_fields: ClassVar[list[str]] = ["name", "not_after", "created_at"]

    @extend_schema(responses={(200, "application/pem-certificate-chain"): OpenApiTypes.STR})
    @action(detail=True, methods=["get"])
    def chain(self, request: Request, slug: str) -> HttpResponse:
        """PEM chain of this CA, leaf first, up to the root."""
        authority = self.get_object()
        pem = "".join(ca.certificate.public_bytes(Encoding.PEM).decode("ascii") for ca in authority.chain())
        return HttpResponse(pem, content_type="application/pem-certificate-chain")

    @extend_schema(
        responses={
            (200, "application/pkix-crl"): OpenApiTypes.BINARY,
            404: OpenApiResponse(description="No CRL published yet"),
        }
    )
    @action(detail=True, methods=["get"])
    def crl(self, request: Request, slug: str) -> HttpResponse | Response:
        """The latest full CRL (DER), the same bytes as the public CRL distribution point."""
        crl = crl_get_latest(authority=self.get_object())
        if crl is None:
            return Response({"detail": "no CRL has been published for this CA yet"}, status=404)
        return HttpResponse(bytes(crl.der), content_type="application/pkix-crl")


class CertificateTemplateViewSet(viewsets.ModelViewSet):  # type: ignore[type-arg]
    queryset = CertificateTemplate.objects.all()
    serializer_class = CertificateTemplateSerializer
    lookup_field = "name"
    lookup_value_regex = r"[-a-zA-Z0-9_]+"
    filterset_fields: ClassVar[list[str]] = ["purpose", "enabled", "requires_approval"]
    ordering_fields: ClassVar[list[str]] = ["name", "created_at"]


class IssuedCertificateViewSet(viewsets.ReadOnlyModelViewSet):  # type: ignore[type-arg]
    """Issued certificates, newest first (by notAfter with a notAfter filter, unless ``ordering`` is given).
    ``count`` is exact up to 10,000 matches and PostgreSQL's estimate above (``count_estimated``).
    """

    queryset = IssuedCertificate.objects.select_related("authority", "template")
    serializer_class = IssuedCertificateSerializer
    filterset_class = IssuedCertificateFilterSet
    pagination_class = EstimatedCountPagination
    ordering_fields: ClassVar[list[str]] = ["not_before", "not_after", "serial"]
    action_permissions: ClassVar[dict[str, str]] = {"revoke": "ca.revoke_issuedcertificate"}

    @extend_schema(
        request=CertificateRevokeInputSerializer,
        responses={
            200: CertificateRevokeResultSerializer,
            202: OpenApiResponse(
                CertificateRevokeResultSerializer,
                description="Revocation requested and queued for the CA worker (see its revocation request)",
            ),
            409: OpenApiResponse(description="Already revoked"),
        },
    )
    @action(detail=True, methods=["post"])
    def revoke(self, request: Request, pk: str) -> Response:
        """Revoke with an RFC 5280 reason: a durable revocation request that the CA worker carries out (and
        publishes a new CRL); 200 when it is done within the wait, 202 while it is still queued.
        """
        serializer = CertificateRevokeInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        revocation = certificate_revoke_by_admin(
            certificate=self.get_object(),
            reason=serializer.validated_data["reason"],
            comment=serializer.validated_data["comment"],
            requested_by=_actor(request),
            wait=ca_settings().REVOKE_WAIT,
        )
        body = CertificateRevokeResultSerializer(
            {"certificate": revocation.certificate, "revocation_request": revocation.request}
        ).data
        return Response(body, status=status.HTTP_200_OK if revocation.done else status.HTTP_202_ACCEPTED)

    def permission_denied(
        self, request: Request, message: str | None = None, code: str | None = None
    ) -> NoReturn:
        """A revocation refused for lack of the revoke right is a RevokeCert_Failure (0x00000402)."""
        if self.action == "revoke" and request.user.is_authenticated:
            revocation_denied_record(
                certificate_id=str(self.kwargs.get("pk", "")), requested_by=_actor(request)
            )
        super().permission_denied(request, message=message, code=code)


class RevocationRequestViewSet(viewsets.ReadOnlyModelViewSet):  # type: ignore[type-arg]
    """Revocation requests and their progress (an admin's revocation, a device retired or wiped, a profile
    unassigned, changed or deleted, a superseded certificate).
    """

    queryset = RevocationRequest.objects.prefetch_related("items__certificate__authority")
    serializer_class = RevocationRequestSerializer
    filterset_fields: ClassVar[list[str]] = ["status", "cause", "reason"]
    ordering_fields: ClassVar[list[str]] = ["created_at", "completed_at"]


class CertificateRequestViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):  # type: ignore[type-arg]
    """The CA's request queue: submit a CSR (as certreq does), approve or deny pending requests."""

    queryset = CertificateRequest.objects.select_related("authority", "template", "certificate")
    serializer_class = CertificateRequestSerializer
    filterset_class = CertificateRequestFilterSet
    ordering_fields: ClassVar[list[str]] = ["created_at", "status"]
    action_permissions: ClassVar[dict[str, str]] = {
        "approve": "ca.approve_certificaterequest",
        "deny": "ca.approve_certificaterequest",
    }

    @extend_schema(
        request=CertificateRequestSubmitInputSerializer,
        responses={
            201: CertificateRequestSerializer,
            202: OpenApiResponse(CertificateRequestSerializer, description="Queued or pending approval"),
        },
    )
    def create(self, request: Request) -> Response:
        serializer = CertificateRequestSubmitInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        submitted = certificate_request_submit(
            authority=data["authority"],
            template=data["template"],
            csr=data["csr"],
            subject=data["subject"],
            sans=data["sans"],
            validity_days=data["validity_days"],
            requester=_actor(request),
        )
        submitted = certificate_request_wait(request=submitted, timeout=API_WAIT_SECONDS)
        code = status.HTTP_201_CREATED if submitted.is_terminal else status.HTTP_202_ACCEPTED
        return Response(CertificateRequestSerializer(submitted).data, status=code)

    @extend_schema(request=None, responses={200: CertificateRequestSerializer, 409: OpenApiResponse()})
    @action(detail=True, methods=["post"])
    def approve(self, request: Request, pk: str) -> Response:
        """CA certificate manager approval of a pending request; the CA worker then issues it."""
        approved = certificate_request_approve(request=self.get_object(), actor=_actor(request))
        approved = certificate_request_wait(request=approved, timeout=API_WAIT_SECONDS)
        return Response(CertificateRequestSerializer(approved).data)

    @extend_schema(
        request=CertificateRequestDenyInputSerializer, responses={200: CertificateRequestSerializer}
    )
    @action(detail=True, methods=["post"])
    def deny(self, request: Request, pk: str) -> Response:
        serializer = CertificateRequestDenyInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        denied = certificate_request_deny(
            request=self.get_object(), actor=_actor(request), reason=serializer.validated_data["reason"]
        )
        return Response(CertificateRequestSerializer(denied).data)
