"""Admin of profiles: the reference's "create a profile and assign it" procedure without the API."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.http import HttpRequest

from core.exceptions import ApplicationError
from profiles.models import (
    DeviceCertificate,
    DeviceCertificateState,
    DeviceChallenge,
    ProfileAssignment,
    ScepProfile,
    TrustedRootProfile,
)
from profiles.services.profiles import (
    certificate_der_from_upload,
    scep_profile_update,
    trusted_root_profile_update,
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


class TrustedRootProfileForm(forms.ModelForm):  # type: ignore[type-arg]
    """One of our CAs, or an uploaded .cer (DER or PEM): the admin's two ways to give the certificate."""

    certificate_file = forms.FileField(
        required=False, help_text="Upload a .cer (DER or PEM), or choose one of our CAs"
    )

    class Meta:
        model = TrustedRootProfile
        fields = (
            "name",
            "description",
            "platform",
            "authority",
            "certificate_file_name",
            "destination_store",
        )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        authority = cleaned.get("authority")
        upload = cleaned.get("certificate_file")
        if authority is not None:
            self.instance.certificate_der = authority.certificate_der
        elif upload:
            try:
                self.instance.certificate_der = certificate_der_from_upload(upload.read())
            except ApplicationError as exc:
                self.add_error("certificate_file", exc.message)
        elif not self.instance.certificate_der:
            self.add_error("certificate_file", "upload the CA certificate or choose one of our CAs")
        return cleaned

    def _update_errors(self, errors: ValidationError) -> None:
        """The model reports certificate problems on its certificate_der field, shown here as the upload."""
        if hasattr(errors, "error_dict") and "certificate_der" in errors.error_dict:
            errors.error_dict["certificate_file"] = errors.error_dict.pop("certificate_der")
        super()._update_errors(errors)  # type: ignore[misc]  # private ModelForm method, not in django-stubs


@admin.register(TrustedRootProfile)
class TrustedRootProfileAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    form = TrustedRootProfileForm
    list_display = ("name", "platform", "subject", "thumbprint_sha1", "destination_store", "not_after")
    list_filter = ("platform",)
    search_fields = ("name", "subject", "thumbprint_sha1")
    readonly_fields = ("thumbprint_sha1", "subject", "not_after", "version")
    fields = (
        "name", "description", "platform", "authority", "certificate_file", "certificate_file_name",
        "destination_store", "thumbprint_sha1", "subject", "not_after", "version",
    )  # fmt: skip
    inlines = (RootAssignmentInline,)

    def save_model(self, request: HttpRequest, obj: TrustedRootProfile, form: Any, change: bool) -> None:
        if change:
            trusted_root_profile_update(profile=obj)  # the service bumps the version
        else:
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

    def save_model(self, request: HttpRequest, obj: ScepProfile, form: Any, change: bool) -> None:
        """Changes go through scep_profile_update: it bumps the version, so devices renew to pick them up."""
        if change:
            scep_profile_update(profile=obj)
        else:
            super().save_model(request, obj, form, change)

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
