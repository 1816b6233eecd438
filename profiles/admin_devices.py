"""The admin's device actions, each behind the right its effect needs (as the API's):

- retire and wipe revoke the device's certificates: the certificate manager's revoke right;
- a new check-in token, and a payload handed out on the device's behalf, let their holder enroll as the
  device's user: the device enrollment operator's rights (``directory.rotate_checkin_token``,
  ``profiles.hand_out_payload``). Both answers carry secrets: shown once, never cached.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from core.admin import ServiceErrorsAdminMixin
from core.exceptions import ApplicationError
from directory.services.checkin_tokens import device_checkin_token_rotate
from profiles.models import DeviceCertificate, ManagedDevice
from profiles.services.checkin import device_checkin
from profiles.services.devices import device_retire, device_wipe
from profiles.services.payloads import (
    checkin_as_mobileconfig,
    checkin_as_windows_csp,
    mobileconfig_content_disposition,
)

_NO_STORE = "no-store"


def _one(modeladmin: admin.ModelAdmin[Any], request: HttpRequest, queryset: QuerySet[ManagedDevice]) -> Any:
    if queryset.count() != 1:
        modeladmin.message_user(request, "Choose exactly one device for this action.", messages.WARNING)
        return None
    return queryset.get()


@admin.register(ManagedDevice)
class ManagedDeviceAdmin(ServiceErrorsAdminMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("name", "platform", "state", "primary_user", "last_checkin_at", "valid_certificates")
    list_filter = ("platform", "state")
    list_select_related = ("primary_user",)
    search_fields = ("name", "external_id", "serial_number", "primary_user__user_principal_name")
    actions = (
        "retire_selected",
        "wipe_selected",
        "checkin_token_selected",
        "mobileconfig_selected",
        "windows_csp_selected",
    )
    readonly_fields = ("external_id", "name", "platform", "state", "primary_user", "last_checkin_at")
    fields = readonly_fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # the directory's page edits a device; here are its certificate actions

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_revoke_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("ca.revoke_issuedcertificate")

    def has_rotate_token_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("directory.rotate_checkin_token")

    def has_hand_out_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("profiles.hand_out_payload")

    @admin.display(description="Valid certificates")
    def valid_certificates(self, obj: ManagedDevice) -> int:
        return DeviceCertificate.objects.filter(device=obj, certificate__revoked_at__isnull=True).count()

    # --- retire / wipe: they revoke -----------------------------------------------------------------

    def _leave(
        self, request: HttpRequest, queryset: QuerySet[ManagedDevice], how: str
    ) -> TemplateResponse | None:
        if "confirm" not in request.POST:
            context = {
                **self.admin_site.each_context(request),
                "title": f"{how.capitalize()} devices",
                "devices": queryset,
                "how": how,
                "action": f"{how}_selected",
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
                "opts": self.model._meta,
            }
            return TemplateResponse(request, "admin/profiles/manageddevice/leave_confirmation.html", context)
        service = device_retire if how == "retire" else device_wipe
        revoked = 0
        for device in queryset:
            try:
                departure = service(device=device, requested_by=f"admin:{request.user.get_username()}")
            except ApplicationError as exc:
                self.message_user(request, f"{device}: {exc.message}", messages.WARNING)
                continue
            if departure.revocation_request is not None:
                revoked += departure.revocation_request.items.count()
        self.message_user(
            request, f"{queryset.count()} device(s): {how}d; {revoked} certificate(s) to revoke."
        )
        return None

    @admin.action(
        description="Retire the selected devices (revokes their certificates)…", permissions=["revoke"]
    )
    def retire_selected(
        self, request: HttpRequest, queryset: QuerySet[ManagedDevice]
    ) -> TemplateResponse | None:
        return self._leave(request, queryset, "retire")

    @admin.action(
        description="Wipe the selected devices (revokes their certificates)…", permissions=["revoke"]
    )
    def wipe_selected(
        self, request: HttpRequest, queryset: QuerySet[ManagedDevice]
    ) -> TemplateResponse | None:
        return self._leave(request, queryset, "wipe")

    # --- secrets handed out -------------------------------------------------------------------------

    @admin.action(
        description="Give the device a new check-in token (shown once)", permissions=["rotate_token"]
    )
    def checkin_token_selected(self, request: HttpRequest, queryset: QuerySet[ManagedDevice]) -> Any:
        device = _one(self, request, queryset)
        if device is None:
            return None
        token = device_checkin_token_rotate(device=device)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Check-in token of {device}",
            "device": device,
            "token": token,
            "opts": self.model._meta,
        }
        response = TemplateResponse(request, "admin/profiles/manageddevice/checkin_token.html", context)
        response["Cache-Control"] = _NO_STORE
        return response

    def _payload(self, request: HttpRequest, queryset: QuerySet[ManagedDevice], kind: str) -> Any:
        device = _one(self, request, queryset)
        if device is None:
            return None
        result = device_checkin(device=device)
        if kind == "mobileconfig":
            response = HttpResponse(
                checkin_as_mobileconfig(result), content_type="application/x-apple-aspen-config"
            )
            response["Content-Disposition"] = mobileconfig_content_disposition(device)
        else:
            response = HttpResponse(checkin_as_windows_csp(result), content_type="application/vnd.syncml+xml")
        response["Cache-Control"] = _NO_STORE
        return response

    @admin.action(
        description="Hand out the device's .mobileconfig (issues challenges)", permissions=["hand_out"]
    )
    def mobileconfig_selected(self, request: HttpRequest, queryset: QuerySet[ManagedDevice]) -> Any:
        return self._payload(request, queryset, "mobileconfig")

    @admin.action(
        description="Hand out the device's Windows CSP (issues challenges)", permissions=["hand_out"]
    )
    def windows_csp_selected(self, request: HttpRequest, queryset: QuerySet[ManagedDevice]) -> Any:
        return self._payload(request, queryset, "windows-csp")
