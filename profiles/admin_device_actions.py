"""The device page's actions, one view each, every one behind the right its effect needs (as the API's):

- a new check-in token (``directory.rotate_checkin_token``): a confirmation, then the token shown once;
- the payload handed out on the device's behalf (``profiles.hand_out_payload``): a POST that downloads it;
- retire and wipe (``ca.revoke_issuedcertificate``): a confirmation listing the certificates that will be
  revoked, then the service.

A right the viewer lacks hides the button on the page and refuses the request here (403), GET or POST.
Answers that carry a secret (the token, a payload with one-time challenges) are ``Cache-Control: no-store``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import PurePath
from typing import Any, Final

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.http import content_disposition_header

from core.exceptions import ApplicationError
from directory.services.checkin_tokens import device_checkin_token_rotate
from profiles.admin_device_pages import device_certificates_to_revoke
from profiles.models import ManagedDevice
from profiles.services.checkin_resources import device_checkin_all
from profiles.services.devices import DeviceDeparture, device_retire, device_wipe
from profiles.services.payloads import (
    checkin_as_mobileconfig,
    checkin_as_windows_csp,
    mobileconfig_content_disposition,
    mobileconfig_filename,
)

__all__ = ["NO_STORE", "PAYLOAD_KINDS", "DeviceActionViewsMixin", "payload_response"]

NO_STORE: Final = "no-store"
#: The payload formats handed out from the admin, by the name in the URL.
PAYLOAD_KINDS: Final = {"mobileconfig": ".mobileconfig (iOS, macOS)", "windows-csp": "Windows CSP (SyncML)"}
_LEAVE: Final[dict[str, Callable[..., DeviceDeparture]]] = {"retire": device_retire, "wipe": device_wipe}


def payload_response(device: ManagedDevice, kind: str) -> HttpResponse:
    """Check ``device`` in on its behalf (issues fresh one-time challenges) and answer its payload."""
    result = device_checkin_all(device=device)
    if kind == "mobileconfig":
        response = HttpResponse(
            checkin_as_mobileconfig(result), content_type="application/x-apple-aspen-config"
        )
        response["Content-Disposition"] = mobileconfig_content_disposition(device)
    else:
        response = HttpResponse(checkin_as_windows_csp(result), content_type="application/vnd.syncml+xml")
        name = f"{PurePath(mobileconfig_filename(device)).stem}.syncml.xml"
        response["Content-Disposition"] = content_disposition_header(as_attachment=True, filename=name)
    response["Cache-Control"] = NO_STORE
    return response


class DeviceActionViewsMixin:
    """Views of one device's actions for :class:`profiles.admin_devices.ManagedDeviceAdmin`."""

    admin_site: admin.AdminSite
    model: type[ManagedDevice]

    # Provided by the ModelAdmin (and the rights by ManagedDeviceAdmin).
    get_object: Callable[..., Any]
    has_view_permission: Callable[..., bool]
    has_revoke_permission: Callable[[HttpRequest], bool]
    has_rotate_token_permission: Callable[[HttpRequest], bool]
    has_hand_out_permission: Callable[[HttpRequest], bool]
    message_user: Callable[..., None]

    def device_action_urls(self) -> list[URLPattern]:
        info = f"{self.model._meta.app_label}_{self.model._meta.model_name}"
        wrap = self.admin_site.admin_view
        return [
            path(
                "<path:object_id>/checkin-token/", wrap(self.checkin_token_view), name=f"{info}_checkin_token"
            ),
            path("<path:object_id>/payload/<str:kind>/", wrap(self.payload_view), name=f"{info}_payload"),
            path("<path:object_id>/retire/", wrap(self.leave_view), {"how": "retire"}, name=f"{info}_retire"),
            path("<path:object_id>/wipe/", wrap(self.leave_view), {"how": "wipe"}, name=f"{info}_wipe"),
        ]

    # --- plumbing -----------------------------------------------------------------------------------

    def _device(self, request: HttpRequest, object_id: str, allowed: Callable[[HttpRequest], bool]) -> Any:
        device = self.get_object(request, unquote(object_id))
        if device is None:
            raise Http404("No such device.")
        if not (self.has_view_permission(request, device) and allowed(request)):
            raise PermissionDenied
        return device

    def _device_url(self, device: ManagedDevice) -> str:
        return reverse(f"{self.admin_site.name}:profiles_manageddevice_change", args=[device.pk])

    def _page(self, request: HttpRequest, template: str, title: str, **context: Any) -> TemplateResponse:
        full = {
            **self.admin_site.each_context(request),
            "title": title,
            "opts": self.model._meta,
            "device_url": self._device_url(context["device"]),
            **context,
        }
        return TemplateResponse(request, f"admin/profiles/manageddevice/{template}", full)

    # --- check-in token -----------------------------------------------------------------------------

    def checkin_token_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        device = self._device(request, object_id, self.has_rotate_token_permission)
        if request.method == "GET":
            return self._page(
                request, "checkin_token_confirm.html", f"New check-in token for {device}", device=device
            )
        if request.method != "POST":
            return HttpResponseNotAllowed(["GET", "POST"])
        try:
            token = device_checkin_token_rotate(device=device)
        except ApplicationError as exc:
            self.message_user(request, exc.message, messages.ERROR)
            return HttpResponseRedirect(self._device_url(device))
        response = self._page(
            request, "checkin_token.html", f"Check-in token of {device}", device=device, token=token
        )
        response["Cache-Control"] = NO_STORE
        return response

    # --- payload ------------------------------------------------------------------------------------

    def payload_view(self, request: HttpRequest, object_id: str, kind: str) -> HttpResponse:
        device = self._device(request, object_id, self.has_hand_out_permission)
        if request.method != "POST":  # it issues challenges: never on a GET a prefetch could make
            return HttpResponseNotAllowed(["POST"])
        if kind not in PAYLOAD_KINDS:
            raise Http404("No such payload format.")
        try:
            return payload_response(device, kind)
        except ApplicationError as exc:
            self.message_user(request, exc.message, messages.ERROR)
            return HttpResponseRedirect(self._device_url(device))

    # --- retire / wipe ------------------------------------------------------------------------------

    def leave_view(self, request: HttpRequest, object_id: str, how: str) -> HttpResponse:
        device = self._device(request, object_id, self.has_revoke_permission)
        if not device.is_active:
            self.message_user(
                request, f"{device} is already {device.get_state_display().lower()}.", messages.WARNING
            )
            return HttpResponseRedirect(self._device_url(device))
        if request.method == "GET":
            return self._page(
                request,
                "leave_device_confirm.html",
                f"{how.capitalize()} {device}",
                device=device,
                how=how,
                certificates=list(device_certificates_to_revoke(device=device)),
            )
        if request.method != "POST":
            return HttpResponseNotAllowed(["GET", "POST"])
        try:
            departure = _LEAVE[how](device=device, requested_by=f"admin:{request.user.get_username()}")
        except ApplicationError as exc:
            exc.record()
            self.message_user(request, exc.message, messages.ERROR)
            return HttpResponseRedirect(self._device_url(device))
        revocation = departure.revocation_request
        count = revocation.items.count() if revocation is not None else 0
        self.message_user(
            request,
            f"{device} {how}d; {count} certificate(s) to revoke"
            + (f" (revocation request {revocation.pk})." if revocation is not None else "."),
        )
        return HttpResponseRedirect(self._device_url(device))
