"""Admin of profiles: the reference's "create a profile and assign it" procedure without the API."""

from __future__ import annotations

import copy
from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest

from core.admin import ServiceErrorsAdminMixin
from core.exceptions import ApplicationError
from profiles import admin_devices  # noqa: F401 - registers the managed devices page
from profiles.models import (
    DeviceCertificate,
    DeviceCertificateState,
    DeviceChallenge,
    ProfileAssignment,
    ScepProfile,
    TrustedRootProfile,
)
from profiles.services.profiles import (
    assignment_create,
    assignment_delete,
    assignment_update,
    certificate_der_from_upload,
    scep_profile_create,
    scep_profile_delete,
    scep_profile_update,
    trusted_root_profile_create,
    trusted_root_profile_derived,
    trusted_root_profile_update,
)
from profiles.services.reconcile import profile_devices_reconcile
from profiles.validation import scep_profile_relation_errors


def _form_values(form: forms.ModelForm, *, changed_only: bool) -> dict[str, Any]:  # type: ignore[type-arg]
    """The form's values of model fields, as the services take them: all of them, or only the changed ones."""
    names = form.changed_data if changed_only else list(form.cleaned_data)
    model_fields = {field.name for field in form.instance._meta.concrete_fields}
    return {name: form.cleaned_data[name] for name in names if name in model_fields}


def _adopt(obj: models.Model, saved: models.Model) -> None:
    """Make the admin's object the row the service saved: the admin saves the inlines against ``obj``."""
    obj.pk = saved.pk
    obj._state.adding = False
    obj.refresh_from_db()


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

    def _post_clean(self) -> None:
        """The model's rules, then its constraints with the values the service derives from the certificate
        (thumbprint, subject, expiry): the same root twice for one platform is a form error, not a 500.
        """
        super()._post_clean()  # type: ignore[misc]  # private ModelForm method, not in django-stubs
        if self.errors:
            return
        instance = self.instance
        derived = trusted_root_profile_derived(
            certificate_der=instance.certificate_der,
            name=instance.name,
            platform=instance.platform,
            certificate_file_name=instance.certificate_file_name,
            destination_store=instance.destination_store,
        )
        candidate = copy.copy(instance)
        for name, value in derived.items():
            setattr(candidate, name, value)
        try:
            candidate.validate_constraints()
        except ValidationError as exc:
            self._update_errors(exc)

    def _update_errors(self, errors: ValidationError) -> None:
        """The model reports certificate problems on its certificate_der field, shown here as the upload."""
        if hasattr(errors, "error_dict") and "certificate_der" in errors.error_dict:
            errors.error_dict["certificate_file"] = errors.error_dict.pop("certificate_der")
        super()._update_errors(errors)  # type: ignore[misc]  # private ModelForm method, not in django-stubs


@admin.register(TrustedRootProfile)
class TrustedRootProfileAdmin(ServiceErrorsAdminMixin, admin.ModelAdmin):  # type: ignore[type-arg]
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
        """Through the services: they set the fields that follow from the certificate and bump the version."""
        values = _form_values(form, changed_only=change)
        certificate_der = bytes(obj.certificate_der)  # the upload or the CA's certificate (form.clean)
        if change:
            saved = trusted_root_profile_update(
                profile=TrustedRootProfile.objects.get(pk=obj.pk), certificate_der=certificate_der, **values
            )
        else:
            saved = trusted_root_profile_create(certificate_der=certificate_der, **values)
        _adopt(obj, saved)


class ScepProfileForm(forms.ModelForm):  # type: ignore[type-arg]
    """The model's rules, and those that read other rows (template, CA, trusted certificate profile), as
    field errors: the ones ``scep_profile_create`` / ``scep_profile_update`` would raise when saving.
    (``ScepProfileAdmin`` gives the model and the fields.)
    """

    def _post_clean(self) -> None:
        super()._post_clean()  # type: ignore[misc]  # private ModelForm method, not in django-stubs
        errors = scep_profile_relation_errors(self.instance)
        if errors:
            self._update_errors(ValidationError(errors))  # type: ignore[attr-defined]


@admin.register(ScepProfile)
class ScepProfileAdmin(ServiceErrorsAdminMixin, admin.ModelAdmin):  # type: ignore[type-arg]
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
    form = ScepProfileForm

    def save_model(self, request: HttpRequest, obj: ScepProfile, form: Any, change: bool) -> None:
        """Through the services: a change bumps the version, so devices renew to pick it up."""
        if change:
            saved = scep_profile_update(
                profile=ScepProfile.objects.get(pk=obj.pk), **_form_values(form, changed_only=True)
            )
        else:
            saved = scep_profile_create(**_form_values(form, changed_only=False))
        _adopt(obj, saved)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        """The inline assignments are saved with the profile; then its devices are reconciled (a device
        that is no longer in scope loses its certificates), as the assignment services do.
        """
        super().save_related(request, form, formsets, change)
        if change:
            profile_devices_reconcile(profile=form.instance)

    def delete_model(self, request: HttpRequest, obj: ScepProfile) -> None:
        scep_profile_delete(profile=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[ScepProfile]) -> None:
        for profile in queryset:
            scep_profile_delete(profile=profile)

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
        ("Revocation", {"fields": ("revoke_on_removal", "revoke_on_change", "revoke_superseded")}),
    )


@admin.register(ProfileAssignment)
class ProfileAssignmentAdmin(ServiceErrorsAdminMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    """Changes go through the assignment services: a device that loses a profile loses its certificates."""

    list_display = ("id", "scep_profile", "trusted_root_profile", "intent", "target", "group")
    list_filter = ("intent", "target")

    def save_model(self, request: HttpRequest, obj: ProfileAssignment, form: Any, change: bool) -> None:
        if change:
            saved = assignment_update(
                assignment=ProfileAssignment.objects.get(pk=obj.pk), **_form_values(form, changed_only=True)
            )
        else:
            saved = assignment_create(**_form_values(form, changed_only=False))
        _adopt(obj, saved)

    def delete_model(self, request: HttpRequest, obj: ProfileAssignment) -> None:
        assignment_delete(assignment=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[ProfileAssignment]) -> None:
        for assignment in queryset:
            assignment_delete(assignment=assignment)


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
