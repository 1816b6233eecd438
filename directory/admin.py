"""Admin of the directory: users, devices and groups, searchable and filterable.

A device's state is read-only once it exists: retiring or wiping revokes certificates and goes through
the profiles services (the managed device page, with the check-in token and the payload). Imports from
the browser: :mod:`directory.admin_imports`.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe

from directory import admin_imports  # noqa: F401 - registers the imports' pages
from directory.admin_columns import device_name_cell, platform_cell, timestamp_cell
from directory.models import Device, DirectoryUser, Group, GroupKind
from directory.services.devices import DEVICE_FIELDS
from directory.services.users import USER_FIELDS


class DirectoryUserAdminForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = DirectoryUser
        fields = list(USER_FIELDS)


@admin.register(DirectoryUser)
class DirectoryUserAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    form = DirectoryUserAdminForm
    list_display = (
        "user_principal_name",
        "display_name",
        "department",
        "enabled",
        "device_count",
        "group_count",
    )
    list_filter = ("enabled", "department")
    search_help_text = "UPN, name, email, Entra object ID or the on-premises account name, UPN or SID"
    search_fields = (
        "user_principal_name", "display_name", "user_name", "email", "external_id",
        "on_premises_sam_account_name", "on_premises_user_principal_name", "on_premises_security_identifier",
    )  # fmt: skip
    readonly_fields = ("devices_list", "groups_list", "created_at", "updated_at")
    fieldsets = (
        (None, {"fields": ("external_id", "user_principal_name", "user_name", "display_name", "email")}),
        ("Organisation", {"fields": ("department", "enabled")}),
        (
            "On-premises Active Directory",
            {
                "fields": (
                    "on_premises_sam_account_name",
                    "on_premises_user_principal_name",
                    "on_premises_distinguished_name",
                    "on_premises_security_identifier",
                )
            },
        ),
        ("Devices and groups", {"fields": ("devices_list", "groups_list")}),
        ("Record", {"fields": ("created_at", "updated_at"), "classes": ("collapse",)}),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[DirectoryUser]:
        queryset: QuerySet[DirectoryUser] = super().get_queryset(request)
        return queryset.annotate(
            device_total=Count("devices", distinct=True), group_total=Count("member_of", distinct=True)
        )

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        fieldsets = super().get_fieldsets(request, obj)
        return fieldsets if obj is not None else [f for f in fieldsets if f[0] != "Devices and groups"]

    @admin.display(description="Devices", ordering="device_total")
    def device_count(self, obj: DirectoryUser) -> int:
        return int(getattr(obj, "device_total", 0))

    @admin.display(description="Groups", ordering="group_total")
    def group_count(self, obj: DirectoryUser) -> int:
        return int(getattr(obj, "group_total", 0))

    @admin.display(description="Devices (primary user)")
    def devices_list(self, obj: DirectoryUser) -> str:
        return _links(obj.devices.order_by("name"), "device") if obj.pk else "—"

    @admin.display(description="Groups")
    def groups_list(self, obj: DirectoryUser) -> str:
        return _links(obj.member_of.order_by("name"), "group") if obj.pk else "—"


def _links(objects: QuerySet[Any], model_name: str) -> str:
    """Links to the directory's pages of ``objects``, one a line (or a dash for none)."""
    rows = [(reverse(f"admin:directory_{model_name}_change", args=[o.pk]), str(o)) for o in objects[:200]]
    if not rows:
        return "—"
    return format_html_join(mark_safe("<br>"), '<a href="{}">{}</a>', rows)


class DeviceAdminForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = Device
        fields = list(DEVICE_FIELDS)


@admin.register(Device)
class DeviceAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    form = DeviceAdminForm
    list_display = ("device", "platform_os", "primary_user", "serial_number", "last_checkin")
    list_display_links = ("device",)
    list_filter = ("platform", "state", "domain_joined")
    list_select_related = ("primary_user",)
    search_fields = (
        "name", "external_id", "serial_number", "imei", "meid", "aad_device_id", "wifi_mac", "fqdn",
        "primary_user__user_principal_name",
    )  # fmt: skip
    autocomplete_fields = ("primary_user",)
    fieldsets = (
        (None, {"fields": ("external_id", "name", "platform", "os_version", "state", "primary_user")}),
        ("Identifiers", {"fields": ("serial_number", "imei", "meid", "aad_device_id", "wifi_mac")}),
        ("Domain", {"fields": ("domain_joined", "fqdn")}),
        ("Check-in", {"fields": ("has_checkin_token", "last_checkin_at")}),
        ("Groups", {"fields": ("groups_list",)}),
        ("Record", {"fields": ("created_at", "updated_at"), "classes": ("collapse",)}),
    )

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Only retired or wiped devices: deleting an active one would orphan its certificates unrevoked.
        return super().has_delete_permission(request, obj) and (obj is None or not obj.is_active)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        readonly = ("has_checkin_token", "last_checkin_at", "groups_list", "created_at", "updated_at")
        return readonly if obj is None else ("state", *readonly)

    @admin.display(description="Groups")
    def groups_list(self, obj: Device) -> str:
        return _links(obj.member_of.order_by("name"), "group") if obj.pk else "—"

    @admin.display(description="Device", ordering="name")
    def device(self, obj: Device) -> str:
        return device_name_cell(obj)

    @admin.display(description="Platform", ordering="platform")
    def platform_os(self, obj: Device) -> str:
        return platform_cell(obj, with_os=True)

    @admin.display(description="Last check-in", ordering="last_checkin_at")
    def last_checkin(self, obj: Device) -> str:
        return timestamp_cell(obj.last_checkin_at)

    @admin.display(boolean=True, description="Check-in token")
    def has_checkin_token(self, obj: Device) -> bool:
        return bool(obj.checkin_token_digest)


class GroupAdminForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = Group
        fields = ["external_id", "name", "kind", "description", "users", "devices"]

    def clean(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = super().clean() or {}
        kind = cleaned.get("kind")
        if kind == GroupKind.USER and cleaned.get("devices"):
            self.add_error("devices", ValidationError("A user group holds only users; remove the devices."))
        if kind == GroupKind.DEVICE and cleaned.get("users"):
            self.add_error("users", ValidationError("A device group holds only devices; remove the users."))
        return cleaned


@admin.register(Group)
class GroupAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    form = GroupAdminForm
    list_display = ("name", "kind", "member_count", "updated")
    search_help_text = "Name, Entra object ID or description"
    list_filter = ("kind",)
    search_fields = ("name", "external_id", "description")
    filter_horizontal = ("users", "devices")
    readonly_fields = ("created_at", "updated_at")
    fieldsets = (
        (None, {"fields": ("external_id", "name", "kind", "description")}),
        (
            "Members",
            {
                "fields": ("users", "devices"),
                "description": "Users for a user group, devices for a device group.",
            },
        ),
        ("Record", {"fields": ("created_at", "updated_at"), "classes": ("collapse",)}),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Group]:
        queryset: QuerySet[Group] = super().get_queryset(request)
        annotated: QuerySet[Group] = queryset.annotate(
            member_total=Count("users", distinct=True) + Count("devices", distinct=True)
        )
        return annotated

    @admin.display(description="Updated", ordering="updated_at")
    def updated(self, obj: Group) -> str:
        return timestamp_cell(obj.updated_at)

    @admin.display(description="Members", ordering="member_total")
    def member_count(self, obj: Group) -> int:
        return int(getattr(obj, "member_total", 0))
