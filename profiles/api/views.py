"""Profiles API: trusted-root and SCEP profiles, assignments, device states, device actions, check-in."""

from __future__ import annotations

from typing import Any, ClassVar

import django_filters
from django.http import HttpResponse
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotAuthenticated
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ca.crypto.names import general_name_to_text
from core.throttling import FixedWindowThrottle
from directory.models import Device, Platform
from eventlog.api.serializers import ConnectorEventSerializer
from eventlog.selectors import device_timeline
from profiles.api.authentication import DeviceAuthentication
from profiles.api.serializers import (
    DeviceCertificateStateSerializer,
    ProfileAssignmentSerializer,
    ScepProfilePreviewInputSerializer,
    ScepProfileSerializer,
    TrustedRootProfileSerializer,
)
from profiles.choices import CertificateDelivery
from profiles.models import DeviceCertificateState, ProfileAssignment, ScepProfile, TrustedRootProfile
from profiles.naming.variables import RenderError
from profiles.services.checkin import scep_profile_render
from profiles.services.checkin_resources import DeviceCheckin, device_checkin_all
from profiles.services.devices import DeviceDeparture, device_retire, device_wipe
from profiles.services.payloads import (
    checkin_as_json,
    checkin_as_mobileconfig,
    checkin_as_windows_csp,
    mobileconfig_content_disposition,
)
from profiles.services.profiles import (
    assignment_create,
    assignment_delete,
    scep_profile_create,
    scep_profile_delete,
    scep_profile_update,
    trusted_root_profile_create,
    trusted_root_profile_update,
)

__all__ = [
    "CheckinView",
    "DeviceActionsViewSet",
    "DeviceCertificateStateViewSet",
    "ProfileAssignmentViewSet",
    "ScepProfileViewSet",
    "TrustedRootProfileViewSet",
]

_PAYLOAD_FORMATS = ("json", "mobileconfig", "windows-csp")


class CheckinThrottle(FixedWindowThrottle):
    """Check-ins per device (``CERTPORTAL_CHECKIN_RATE``): each one may hand out new challenges."""

    scope = "checkin"
    default_rate = "30/h"

    def ident(self, request: Request, view: Any) -> str | None:
        return str(request.auth.pk) if isinstance(request.auth, Device) else None


class PayloadThrottle(FixedWindowThrottle):
    """Payloads handed out per user (``CERTPORTAL_PAYLOAD_RATE``): each one issues one-time challenges."""

    scope = "payload"
    default_rate = "60/min"

    def ident(self, request: Request, view: Any) -> str | None:
        return str(request.user.pk) if request.user.is_authenticated else None


def _no_store(response: HttpResponse | Response) -> HttpResponse | Response:
    """A payload carries one-time challenges: no cache (browser, proxy) may keep it."""
    response["Cache-Control"] = "no-store"
    return response


def _payload_response(result: DeviceCheckin, kind: str) -> HttpResponse | Response:
    if kind == "mobileconfig":
        response = HttpResponse(
            checkin_as_mobileconfig(result), content_type="application/x-apple-aspen-config"
        )
        response["Content-Disposition"] = mobileconfig_content_disposition(result.device)
        return response
    if kind == "windows-csp":
        return HttpResponse(checkin_as_windows_csp(result), content_type="application/vnd.syncml+xml")
    return Response(checkin_as_json(result))


class TrustedRootProfileViewSet(viewsets.ModelViewSet):  # type: ignore[type-arg]
    queryset = TrustedRootProfile.objects.select_related("authority")
    serializer_class = TrustedRootProfileSerializer
    filterset_fields: ClassVar[list[str]] = ["platform", "authority"]
    ordering_fields: ClassVar[list[str]] = ["name", "created_at"]

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:  # type: ignore[type-arg]
        serializer.instance = trusted_root_profile_create(**serializer.validated_data)

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:  # type: ignore[type-arg]
        serializer.instance = trusted_root_profile_update(
            profile=self.get_object(), **serializer.validated_data
        )


class ScepProfileViewSet(viewsets.ModelViewSet):  # type: ignore[type-arg]
    queryset = ScepProfile.objects.filter(certificate_delivery=CertificateDelivery.SCEP).select_related(
        "root_profile", "authority", "template"
    )
    serializer_class = ScepProfileSerializer
    filterset_fields: ClassVar[list[str]] = ["platform", "certificate_type", "authority", "template"]
    ordering_fields: ClassVar[list[str]] = ["name", "created_at"]
    action_permissions: ClassVar[dict[str, str]] = {"preview": "profiles.view_scepprofile"}

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:  # type: ignore[type-arg]
        serializer.instance = scep_profile_create(**serializer.validated_data)

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:  # type: ignore[type-arg]
        serializer.instance = scep_profile_update(profile=self.get_object(), **serializer.validated_data)

    def perform_destroy(self, instance: ScepProfile) -> None:
        scep_profile_delete(profile=instance)

    @extend_schema(
        parameters=[OpenApiParameter("device", str, description="External id of the device", required=True)],
        responses={200: OpenApiTypes.OBJECT, 400: OpenApiResponse(description="The device lacks a variable")},
    )
    @action(detail=True, methods=["get"])
    def preview(self, request: Request, pk: str) -> Response:
        """The subject and SANs this profile renders for a device and its primary user; issues nothing."""
        serializer = ScepProfilePreviewInputSerializer(data=request.query_params)
        serializer.is_valid(raise_exception=True)
        device: Device = serializer.validated_data["device"]
        profile = self.get_object()
        try:
            rendered = scep_profile_render(profile=profile, device=device)
        except RenderError as exc:
            return Response({"device": device.external_id, "error": str(exc)}, status=400)
        return Response(
            {
                "device": device.external_id,
                "subject": rendered.subject.rfc4514_string(),
                "subject_alternative_names": [general_name_to_text(name) for name in rendered.sans],
            }
        )


class ProfileAssignmentViewSet(viewsets.ModelViewSet):  # type: ignore[type-arg]
    queryset = ProfileAssignment.objects.select_related("scep_profile", "trusted_root_profile", "group")
    serializer_class = ProfileAssignmentSerializer
    filterset_fields: ClassVar[list[str]] = [
        "scep_profile",
        "trusted_root_profile",
        "target",
        "intent",
        "group",
    ]
    http_method_names = ["get", "post", "delete", "head", "options"]

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:  # type: ignore[type-arg]
        serializer.instance = assignment_create(**serializer.validated_data)

    def perform_destroy(self, instance: ProfileAssignment) -> None:
        assignment_delete(assignment=instance)


class DeviceCertificateStateFilterSet(django_filters.FilterSet):  # type: ignore[misc]  # django-filter is untyped
    """``device`` is the device's external id, as in every row of the report."""

    device = django_filters.ModelChoiceFilter(
        field_name="device", to_field_name="external_id", queryset=Device.objects.all()
    )
    platform = django_filters.ChoiceFilter(field_name="device__platform", choices=Platform.choices)

    class Meta:
        model = DeviceCertificateState
        fields = ["profile", "state", "device", "platform"]


class DeviceCertificateStateViewSet(viewsets.ReadOnlyModelViewSet):  # type: ignore[type-arg]
    """The device certificate state report: which devices have their certificate, and why not."""

    queryset = DeviceCertificateState.objects.select_related("device", "profile", "certificate")
    serializer_class = DeviceCertificateStateSerializer
    filterset_class = DeviceCertificateStateFilterSet
    ordering_fields: ClassVar[list[str]] = ["state_changed_at", "state"]


class DeviceActionsViewSet(viewsets.GenericViewSet):  # type: ignore[type-arg]
    """Actions on a device that involve certificates: retire, wipe, and the payload an admin can hand out."""

    queryset = Device.objects.select_related("primary_user")
    serializer_class = DeviceCertificateStateSerializer
    #: Retire and wipe revoke: the certificate manager's right, not the directory's. Handing out a payload
    #: issues challenges that let the device enroll as its user: a right of its own.
    action_permissions: ClassVar[dict[str, tuple[str, ...]]] = {
        "retire": ("ca.revoke_issuedcertificate", "directory.view_device"),
        "wipe": ("ca.revoke_issuedcertificate", "directory.view_device"),
        "payload": ("profiles.hand_out_payload", "directory.view_device"),
        "timeline": ("eventlog.view_connectorevent", "directory.view_device"),
    }

    @extend_schema(request=None, responses={200: ConnectorEventSerializer(many=True)})
    @action(detail=True, methods=["get"])
    def timeline(self, request: Request, pk: str) -> Response:
        """The device's timeline, newest first: check-ins, challenges, SCEP requests accepted and refused,
        certificates issued and revoked, with the connector's event IDs and diagnostic codes.
        """
        device = self.get_object()
        page = self.paginate_queryset(device_timeline(device_id=device.pk))
        serializer = ConnectorEventSerializer(page, many=True)
        return self.get_paginated_response(serializer.data)

    @extend_schema(request=None, responses={202: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["post"])
    def retire(self, request: Request, pk: str) -> Response:
        """Retire the device; the CA worker revokes its certificates (see the revocation request)."""
        departure = device_retire(device=self.get_object(), requested_by=f"api:{request.user.get_username()}")
        return Response(_departure(departure), status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=None, responses={202: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["post"])
    def wipe(self, request: Request, pk: str) -> Response:
        """Wipe the device; the CA worker revokes its certificates (see the revocation request)."""
        departure = device_wipe(device=self.get_object(), requested_by=f"api:{request.user.get_username()}")
        return Response(_departure(departure), status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        parameters=[OpenApiParameter("kind", str, enum=list(_PAYLOAD_FORMATS), description="Payload kind")],
        responses={200: OpenApiTypes.OBJECT},
    )
    @action(detail=True, methods=["post"], throttle_classes=[PayloadThrottle])
    def payload(self, request: Request, pk: str) -> HttpResponse | Response:
        """Check the device in on its behalf and return its payload (issues fresh one-time challenges)."""
        kind = request.query_params.get("kind", "json")
        if kind not in _PAYLOAD_FORMATS:
            return Response({"kind": [f"choose one of {', '.join(_PAYLOAD_FORMATS)}"]}, status=400)
        return _no_store(_payload_response(device_checkin_all(device=self.get_object()), kind))


def _departure(departure: DeviceDeparture) -> dict[str, Any]:
    """The device's new state and the revocation request of its certificates (follow it at
    /api/v1/revocation-requests/<id>/).
    """
    request = departure.revocation_request
    return {
        "device": departure.device.external_id,
        "state": departure.device.state,
        "revocation_requests": [request.pk] if request is not None else [],
        "certificates_to_revoke": request.items.count() if request is not None else 0,
    }


class _IsDevice(BasePermission):
    def has_permission(self, request: Request, view: Any) -> bool:
        return isinstance(request.auth, Device)


class _CheckinSchema(AutoSchema):
    """One operationId per check-in format (``device_checkin``, ``device_checkin_mobileconfig``, ...)."""

    def get_operation_id(self) -> str:
        kind = str(getattr(self.view, "kind", "json"))
        return "device_checkin" if kind == "json" else f"device_checkin_{kind.replace('-', '_')}"


class CheckinView(APIView):
    """Device check-in: the trusted roots and, per SCEP profile, the rendered request and a fresh challenge.

    ``GET /api/v1/checkin/`` (JSON), ``/api/v1/checkin/mobileconfig/``, ``/api/v1/checkin/windows-csp/``,
    authenticated as ``Authorization: Device <device id>:<check-in token>``.
    """

    authentication_classes = [DeviceAuthentication]
    permission_classes = [_IsDevice]
    throttle_classes = [CheckinThrottle]
    schema = _CheckinSchema()
    kind = "json"

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request) -> HttpResponse | Response:
        device = request.auth
        if not isinstance(device, Device):  # pragma: no cover - _IsDevice guarantees it
            raise NotAuthenticated("check in as a device")
        return _no_store(_payload_response(device_checkin_all(device=device), self.kind))
