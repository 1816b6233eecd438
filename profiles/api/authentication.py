"""Device authentication for check-in: ``Authorization: Device <device id>:<check-in token>``."""

from __future__ import annotations

from dataclasses import dataclass

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request

from directory.models import Device
from directory.services.checkin_tokens import device_authenticate

__all__ = ["DeviceAuthentication", "DevicePrincipal"]


@dataclass(frozen=True)
class DevicePrincipal:
    """``request.user`` for a device: authenticated, no Django permissions."""

    device: Device
    is_authenticated: bool = True
    is_staff: bool = False
    is_superuser: bool = False

    def has_perm(self, perm: str, obj: object = None) -> bool:
        return False

    def get_username(self) -> str:
        return f"device:{self.device.external_id}"


class DeviceAuthentication(BaseAuthentication):
    keyword = b"device"

    def authenticate(self, request: Request) -> tuple[DevicePrincipal, Device] | None:
        parts = get_authorization_header(request).split(None, 1)
        if not parts or parts[0].lower() != self.keyword:
            return None
        if len(parts) != 2 or b":" not in parts[1]:
            raise AuthenticationFailed("write: Authorization: Device <device id>:<check-in token>")
        device_id, _, token = parts[1].decode("utf-8", errors="replace").strip().partition(":")
        device = device_authenticate(device_external_id=device_id, token=token)
        if device is None:
            raise AuthenticationFailed("unknown device, wrong check-in token, or the device is not active")
        return DevicePrincipal(device=device), device

    def authenticate_header(self, request: Request) -> str:
        return "Device"


class DeviceAuthenticationScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    target_class = "profiles.api.authentication.DeviceAuthentication"
    name = "deviceAuth"

    def get_security_definition(self, auto_schema: object) -> dict[str, str]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "Device <device id>:<check-in token> "
            "(from POST /api/v1/devices/{id}/checkin-token/)",
        }
