"""Admin of profiles: the reference's "create a profile and assign it" procedure without the API."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from profiles.models import (
    DeviceCertificate,
    DeviceCertificateState,
    DeviceChallenge,
    ProfileAssignment,
    ScepProfile,
    TrustedRootProfile,
)


class ScepAssignmentInline(admin.TabularInline):  # type: ignore[type-arg]
    model = ProfileAssignment
    fk_name = "scep_profile"
    fields = ("intent", "target", "group")
    extra = 1


class RootAssignmentInline(admin.TabularInline):  # type: ignore[type-arg]
    model = ProfileAssignment
    fk_name = "trusted_root_profile"
    fields = ("intent", "target", "group")
    extra = 1


@admin.register(TrustedRootProfile)
class TrustedRootProfileAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("name", "platform", "subject", "thumbprint_sha1", "destination_store", "not_after")
    list_filter = ("platform",)
    search_fields = ("name", "subject", "thumbprint_sha1")
    readonly_fields = ("thumbprint_sha1", "subject", "not_after", "version")
    fields = (
        "name",
        "description",
        "platform",
        "authority",
        "certificate_file_name",
        "destination_store",
        "thumbprint_sha1",
        "subject",
        "not_after",
        "version",
    )
    inlines = (RootAssignmentInline,)

    def save_model(self, request: HttpRequest, obj: TrustedRootProfile, form: Any, change: bool) -> None:
        if obj.authority is not None:
            obj.certificate_der = obj.authority.certificate_der
        super().save_model(request, obj, form, change)


@admin.register(ScepProfile)
class ScepProfileAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = (
        "name",
        "platform",
        "certificate_type",
        "subject_name_format",
        "authority",
        "template",
        "version",
    )
    list_filter = ("platform", "certificate_type", "authority", "template")
    search_fields = ("name", "description", "subject_name_format_string")
    readonly_fields = ("version",)
    inlines = (ScepAssignmentInline,)
    fieldsets = (
        (None, {"fields": ("name", "description", "platform", "certificate_type", "version")}),
        (
            "Subject and SAN",
            {
                "fields": (
                    "subject_name_format",
                    "subject_name_format_string",
                    "subject_alternative_names",
                    "include_sid_uri",
                    "include_sid_extension",
                )
            },
        ),
        ("Validity", {"fields": ("validity_value", "validity_scale")}),
        (
            "Key",
            {
                "fields": (
                    "key_storage_provider",
                    "key_usage_digital_signature",
                    "key_usage_key_encipherment",
                    "key_size",
                    "hash_algorithms",
                    "extended_key_usages",
                )
            },
        ),
        ("Trust and issuance", {"fields": ("root_profile", "authority", "template")}),
        (
            "Enrollment settings",
            {"fields": ("renewal_threshold_percentage", "scep_server_urls", "allow_all_apps_access")},
        ),
    )


@admin.register(ProfileAssignment)
class ProfileAssignmentAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("id", "scep_profile", "trusted_root_profile", "intent", "target", "group")
    list_filter = ("intent", "target")


@admin.register(DeviceCertificateState)
class DeviceCertificateStateAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = (
        "device",
        "profile",
        "state",
        "reason",
        "diagnostic_code",
        "certificate",
        "state_changed_at",
    )
    list_filter = ("state", "profile", "device__platform")
    search_fields = ("device__name", "device__external_id", "reason")
    readonly_fields = [f.name for f in DeviceCertificateState._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(DeviceChallenge)
class DeviceChallengeAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = (
        "id",
        "device",
        "profile",
        "profile_version",
        "canonical_subject",
        "expires_at",
        "consumed_at",
    )
    list_filter = ("profile",)
    search_fields = ("device__name", "device__external_id", "canonical_subject")
    exclude = ("secret_digest",)
    readonly_fields = [f.name for f in DeviceChallenge._meta.fields if f.name != "secret_digest"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(DeviceCertificate)
class DeviceCertificateAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("certificate", "device", "profile", "created_at")
    list_filter = ("profile",)
    readonly_fields = ("device", "profile", "certificate", "created_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
