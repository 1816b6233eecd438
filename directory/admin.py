"""Admin of the directory: users, devices and groups, searchable and filterable.

A device's state is read-only once it exists: retiring or wiping revokes certificates and goes
through the profiles services. Check-in tokens are issued through the API (shown once). Import jobs are
read only: imports are made through the API or ``manage.py directory_import``.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import Count, QuerySet
from django.http import HttpRequest

from directory.models import Device, DirectoryUser, Group, GroupKind, ImportJob
from directory.services.devices import DEVICE_FIELDS
from directory.services.users import USER_FIELDS


class DirectoryUserAdminForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = DirectoryUser
        fields = list(USER_FIELDS)


@admin.register(DirectoryUser)
class DirectoryUserAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    form = DirectoryUserAdminForm
    list_display = ("user_principal_name", "display_name", "email", "department", "enabled", "external_id")
    list_filter = ("enabled", "department")
    search_fields = (
        "user_principal_name", "display_name", "user_name", "email", "external_id",
        "on_premises_sam_account_name", "on_premises_user_principal_name", "on_premises_security_identifier",
    )  # fmt: skip
    readonly_fields = ("created_at", "updated_at")
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
        ("Record", {"fields": ("created_at", "updated_at"), "classes": ("collapse",)}),
    )


class DeviceAdminForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = Device
        fields = list(DEVICE_FIELDS)


@admin.register(Device)
class DeviceAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    form = DeviceAdminForm
    list_display = (
        "name", "platform", "state", "primary_user", "os_version", "serial_number", "last_checkin_at",
        "has_checkin_token",
    )  # fmt: skip
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
        ("Record", {"fields": ("created_at", "updated_at"), "classes": ("collapse",)}),
    )

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Only retired or wiped devices: deleting an active one would orphan its certificates unrevoked.
        return super().has_delete_permission(request, obj) and (obj is None or not obj.is_active)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        readonly = ("has_checkin_token", "last_checkin_at", "created_at", "updated_at")
        return readonly if obj is None else ("state", *readonly)

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
    list_display = ("name", "kind", "external_id", "member_count", "updated_at")
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

    @admin.display(description="Members", ordering="member_total")
    def member_count(self, obj: Group) -> int:
        return int(getattr(obj, "member_total", 0))


@admin.register(ImportJob)
class ImportJobAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = (
        "pk", "created_at", "requested_by", "file_name", "status", "progress", "created", "failed",
    )  # fmt: skip
    list_filter = ("status", "dry_run")
    search_fields = ("requested_by", "file_name")
    fields = (
        "status", "requested_by", "dry_run", "file_name", "file_size", "kinds", "rows_total", "rows_done",
        "created", "updated", "unchanged", "failed", "by_kind", "errors", "failure_reason", "attempts",
        "created_at", "started_at", "finished_at",
    )  # fmt: skip
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[ImportJob]:
        queryset: QuerySet[ImportJob] = super().get_queryset(request)
        return queryset.defer("content")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="Progress")
    def progress(self, obj: ImportJob) -> str:
        return f"{obj.progress:.0f} %"
