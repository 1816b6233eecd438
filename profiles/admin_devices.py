"""The admin's devices as the certificate side sees them: a list filterable by platform, state and profile
state, and a device page with its user, groups, profiles (state and reason), certificates and timeline.

Each action needs the right its effect needs (as the API's):

- retire and wipe revoke the device's certificates: the certificate manager's revoke right;
- a new check-in token, and a payload handed out on the device's behalf, let their holder enroll as the
  device's user: the device enrollment operator's rights (``directory.rotate_checkin_token``,
  ``profiles.hand_out_payload``). Both answers carry secrets: shown once, never cached.

The device page's buttons are :mod:`profiles.admin_device_actions`; the list keeps the same actions for
several devices at once.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import unquote
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern
from django.utils.html import format_html, format_html_join

from core.admin import ServiceErrorsAdminMixin
from core.exceptions import ApplicationError
from directory.admin_columns import device_name_cell, platform_cell, timestamp_cell
from directory.models import Platform
from directory.services.checkin_tokens import device_checkin_token_rotate
from profiles.admin_device_actions import NO_STORE, PAYLOAD_KINDS, DeviceActionViewsMixin, payload_response
from profiles.admin_device_pages import device_certificates_to_revoke, device_page_read
from profiles.choices import CertificateState
from profiles.models import ManagedDevice, ScepProfile
from profiles.services.devices import device_retire, device_wipe

__all__ = ["ManagedDeviceAdmin"]

_IN_USE = (CertificateState.ISSUED, CertificateState.RENEWAL_DUE)
_WAITING = (CertificateState.PENDING, CertificateState.CHALLENGE_ISSUED, CertificateState.ISSUE_PENDING)
_PROFILE_PARAMETER = "profile"


def _one(modeladmin: admin.ModelAdmin[Any], request: HttpRequest, queryset: QuerySet[ManagedDevice]) -> Any:
    if queryset.count() != 1:
        modeladmin.message_user(request, "Choose exactly one device for this action.", messages.WARNING)
        return None
    return queryset.get()


def _payload_kinds(device: ManagedDevice) -> dict[str, str]:
    """The payload formats offered on the device's page: its platform's (both for another platform)."""
    if device.platform in Platform.apple():
        return {"mobileconfig": PAYLOAD_KINDS["mobileconfig"]}
    if device.platform in Platform.windows():
        return {"windows-csp": PAYLOAD_KINDS["windows-csp"]}
    return dict(PAYLOAD_KINDS)


class ProfileStateFilter(admin.SimpleListFilter):
    """Devices with a profile in this state (of the profile chosen in the next filter, if one is)."""

    title = "profile state"
    parameter_name = "profile_state"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return list(CertificateState.choices)

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if not self.value():
            return queryset
        condition = Q(certificate_states__state=self.value())
        profile = request.GET.get(_PROFILE_PARAMETER, "")
        if profile.isdigit():  # the same state row: this profile in this state
            condition &= Q(certificate_states__profile_id=int(profile))
        return queryset.filter(condition).distinct()


class ProfileFilter(admin.SimpleListFilter):
    """Devices that have a state for this SCEP profile (checked in since it was assigned)."""

    title = "SCEP profile"
    parameter_name = _PROFILE_PARAMETER

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [
            (str(pk), name) for pk, name in ScepProfile.objects.order_by("name").values_list("pk", "name")
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        if not value or not value.isdigit() or request.GET.get(ProfileStateFilter.parameter_name):
            return queryset  # with a state chosen, the state filter applies both to one row
        return queryset.filter(certificate_states__profile_id=int(value)).distinct()


@admin.register(ManagedDevice)
class ManagedDeviceAdmin(DeviceActionViewsMixin, ServiceErrorsAdminMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("device", "platform_short", "primary_user", "last_checkin", "profile_states")
    list_display_links = ("device",)
    list_filter = ("platform", "state", ProfileStateFilter, ProfileFilter)
    list_select_related = ("primary_user",)
    list_per_page = 50
    search_fields = ("name", "external_id", "serial_number", "imei", "primary_user__user_principal_name")
    search_help_text = "Name, Intune device ID, serial number, IMEI or the primary user's UPN"
    actions = (
        "retire_selected",
        "wipe_selected",
        "checkin_token_selected",
        "mobileconfig_selected",
        "windows_csp_selected",
    )
    readonly_fields = ("external_id", "name", "platform", "state", "primary_user", "last_checkin_at")
    fields = readonly_fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[ManagedDevice]:
        queryset: QuerySet[ManagedDevice] = super().get_queryset(request)
        return queryset.annotate(
            states_in_use=Count(
                "certificate_states", filter=Q(certificate_states__state__in=_IN_USE), distinct=True
            ),
            states_waiting=Count(
                "certificate_states", filter=Q(certificate_states__state__in=_WAITING), distinct=True
            ),
            states_failed=Count(
                "certificate_states",
                filter=Q(certificate_states__state=CertificateState.FAILED),
                distinct=True,
            ),
        )

    def get_urls(self) -> list[URLPattern]:
        return [*self.device_action_urls(), *super().get_urls()]

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        """Titled as the navigation names it ("Devices"), not "Select managed device to view"."""
        return super().changelist_view(request, {"title": "Devices", **(extra_context or {})})

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

    @admin.display(description="Profiles")
    def profile_states(self, obj: ManagedDevice) -> str:
        counts = [
            ("ok", getattr(obj, "states_in_use", 0), "issued"),
            ("wait", getattr(obj, "states_waiting", 0), "pending"),
            ("bad", getattr(obj, "states_failed", 0), "failed"),
        ]
        shown = [(tone, count, label) for tone, count, label in counts if count]
        if not shown:
            return "—"
        badges = format_html_join(
            "", '<span class="dp-badge dp-{}">{} {}</span>', ((t, c, label) for t, c, label in shown)
        )
        return format_html('<div class="dp-states">{}</div>', badges)

    @admin.display(description="Device", ordering="name")
    def device(self, obj: ManagedDevice) -> str:
        return device_name_cell(obj)

    @admin.display(description="Platform", ordering="platform")
    def platform_short(self, obj: ManagedDevice) -> str:
        return platform_cell(obj)

    @admin.display(description="Last check-in", ordering="last_checkin_at")
    def last_checkin(self, obj: ManagedDevice) -> str:
        return timestamp_cell(obj.last_checkin_at)

    # --- the device page ----------------------------------------------------------------------------

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        device = self.get_object(request, unquote(object_id))
        if device is None or not self.has_view_permission(request, device):
            return super().change_view(request, object_id, form_url, extra_context)  # 404 / 403 as usual
        page = device_page_read(
            device=device, with_timeline=request.user.has_perm("eventlog.view_connectorevent")
        )
        may = {
            "rotate_token": self.has_rotate_token_permission(request),
            "hand_out": self.has_hand_out_permission(request),
            "revoke": self.has_revoke_permission(request),
        }
        context = {
            **self.admin_site.each_context(request),
            "title": str(device),
            "subtitle": None,
            "opts": self.model._meta,
            "original": device,
            "page": page,
            "may": may,
            "any_action": device.is_active and any(may.values()),
            "payload_kinds": _payload_kinds(device),
            "may_edit_directory": request.user.has_perm("directory.change_device"),
            "may_view_certificates": request.user.has_perm("ca.view_issuedcertificate"),
            **(extra_context or {}),
        }
        return TemplateResponse(request, "admin/profiles/manageddevice/device_detail.html", context)

    # --- list actions: retire / wipe (they revoke) --------------------------------------------------

    def _leave(
        self, request: HttpRequest, queryset: QuerySet[ManagedDevice], how: str
    ) -> TemplateResponse | None:
        if "confirm" not in request.POST:
            context = {
                **self.admin_site.each_context(request),
                "title": f"{how.capitalize()} devices",
                "devices": [
                    (device, list(device_certificates_to_revoke(device=device))) for device in queryset
                ],
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

    @admin.action(description="Retire (revokes their certificates)…", permissions=["revoke"])
    def retire_selected(
        self, request: HttpRequest, queryset: QuerySet[ManagedDevice]
    ) -> TemplateResponse | None:
        return self._leave(request, queryset, "retire")

    @admin.action(description="Wipe (revokes their certificates)…", permissions=["revoke"])
    def wipe_selected(
        self, request: HttpRequest, queryset: QuerySet[ManagedDevice]
    ) -> TemplateResponse | None:
        return self._leave(request, queryset, "wipe")

    # --- list actions: secrets handed out -----------------------------------------------------------

    @admin.action(description="New check-in token (shown once)", permissions=["rotate_token"])
    def checkin_token_selected(self, request: HttpRequest, queryset: QuerySet[ManagedDevice]) -> Any:
        device = _one(self, request, queryset)
        if device is None:
            return None
        token = device_checkin_token_rotate(device=device)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Check-in token of {device}",
            "device": device,
            "device_url": self._device_url(device),
            "token": token,
            "opts": self.model._meta,
        }
        response = TemplateResponse(request, "admin/profiles/manageddevice/checkin_token.html", context)
        response["Cache-Control"] = NO_STORE
        return response

    @admin.action(description="Download the .mobileconfig (issues challenges)", permissions=["hand_out"])
    def mobileconfig_selected(self, request: HttpRequest, queryset: QuerySet[ManagedDevice]) -> Any:
        device = _one(self, request, queryset)
        return None if device is None else payload_response(device, "mobileconfig")

    @admin.action(description="Download the Windows CSP (issues challenges)", permissions=["hand_out"])
    def windows_csp_selected(self, request: HttpRequest, queryset: QuerySet[ManagedDevice]) -> Any:
        device = _one(self, request, queryset)
        return None if device is None else payload_response(device, "windows-csp")
