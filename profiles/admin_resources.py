"""Admin pages of the PKCS certificate profiles and of the Wi-Fi, VPN and email resource profiles.

Every write goes through the services (``profiles.services.resources``, the SCEP profile services for a
PKCS profile, the assignment services for the assignments); the forms check the whole profile with the
services' validation before saving, so a rule's error shows on its field.
"""

from __future__ import annotations

import copy
from typing import Any, TypeVar

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest

from core.admin import ServiceErrorsAdminMixin
from profiles.admin_assignments import _adopt, _AssignmentInline, _assignments_save, _form_values
from profiles.choices import CertificateDelivery
from profiles.models import PkcsProfile, ResourceProfile, ScepProfile
from profiles.services.profiles import scep_profile_delete, scep_profile_update, scep_profile_validate
from profiles.services.resources import (
    pkcs_profile_create,
    resource_profile_create,
    resource_profile_delete,
    resource_profile_update,
    resource_profile_validate,
)

__all__ = ["PkcsProfileAdmin", "ResourceProfileAdmin"]

#: The editable settings of a PKCS profile: a SCEP profile's but its servers, plus the key the CA generates.
PKCS_PROFILE_FIELDS = tuple(
    field.name
    for field in ScepProfile._meta.concrete_fields
    if field.editable
    and not field.primary_key
    and field.name not in {"created_at", "updated_at", "scep_server_urls"}
)
RESOURCE_PROFILE_FIELDS = tuple(
    field.name
    for field in ResourceProfile._meta.concrete_fields
    if field.editable and not field.primary_key and field.name not in {"created_at", "updated_at"}
)


def _errors_onto(form: forms.BaseForm, exc: ValidationError) -> None:
    for field, messages in exc.message_dict.items():
        form.add_error(field if field in form.fields else None, messages)


_M = TypeVar("_M", bound=models.Model)


def _candidate(instance: _M, cleaned: dict[str, Any]) -> _M:
    """The instance as the form's values would make it (before the form assigns them)."""
    candidate = copy.copy(instance)
    names = {field.name for field in instance._meta.concrete_fields}
    for name, value in cleaned.items():
        if name in names:
            setattr(candidate, name, value)
    return candidate


class PkcsProfileForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = PkcsProfile
        fields = PKCS_PROFILE_FIELDS

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.instance.certificate_delivery = CertificateDelivery.PKCS  # its own rules apply as it is built

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        candidate = _candidate(self.instance, cleaned)
        candidate.certificate_delivery = CertificateDelivery.PKCS
        candidate.scep_server_urls = []
        try:
            scep_profile_validate(profile=candidate)
        except ValidationError as exc:
            _errors_onto(self, exc)
        return cleaned


class PkcsAssignmentInline(_AssignmentInline):
    fk_name = "scep_profile"


@admin.register(PkcsProfile)
class PkcsProfileAdmin(ServiceErrorsAdminMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    """PKCS certificate profiles: the CA generates the key and the device receives a PKCS#12."""

    form = PkcsProfileForm
    list_display = (
        "name",
        "platform",
        "certificate_type",
        "key_algorithm",
        "authority",
        "template",
        "version",
    )
    list_filter = ("platform", "certificate_type", "key_algorithm", "authority", "template")
    search_fields = ("name", "description", "subject_name_format_string")
    readonly_fields = ("version",)
    inlines = (PkcsAssignmentInline,)

    def save_model(self, request: HttpRequest, obj: PkcsProfile, form: Any, change: bool) -> None:
        if change:
            saved: ScepProfile = scep_profile_update(
                profile=ScepProfile.objects.get(pk=obj.pk), **_form_values(form, changed_only=True)
            )
        else:
            saved = pkcs_profile_create(**_form_values(form, changed_only=False))
        _adopt(obj, saved)

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        _assignments_save(formset, parent_field="scep_profile", parent=form.instance)

    def delete_model(self, request: HttpRequest, obj: PkcsProfile) -> None:
        scep_profile_delete(profile=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[PkcsProfile]) -> None:
        for profile in queryset:
            scep_profile_delete(profile=profile)


class ResourceProfileForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = ResourceProfile
        fields = RESOURCE_PROFILE_FIELDS

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        try:
            resource_profile_validate(profile=_candidate(self.instance, cleaned))
        except ValidationError as exc:
            _errors_onto(self, exc)
        return cleaned


class ResourceAssignmentInline(_AssignmentInline):
    fk_name = "resource_profile"


@admin.register(ResourceProfile)
class ResourceProfileAdmin(ServiceErrorsAdminMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    """Wi-Fi, VPN and email profiles that authenticate with a SCEP or PKCS profile's certificate. A device
    gets one only with its certificate profile (and its server's trusted root) assigned too.
    """

    form = ResourceProfileForm
    list_display = ("name", "kind", "platform", "identity_profile", "server_root_profile", "version")
    list_filter = ("kind", "platform")
    search_fields = ("name", "description", "ssid", "remote_address", "exchange_host")
    readonly_fields = ("version",)
    inlines = (ResourceAssignmentInline,)
    fieldsets = (
        (None, {"fields": ("name", "description", "kind", "platform", "version")}),
        ("Certificates", {"fields": ("identity_profile", "server_root_profile")}),
        (
            "Wi-Fi",
            {"fields": ("ssid", "wifi_security", "hidden_network", "auto_join", "server_certificate_names")},
        ),
        ("VPN (IKEv2)", {"fields": ("remote_address", "remote_identifier", "local_identifier")}),
        ("Email (Exchange ActiveSync)", {"fields": ("exchange_host", "email_address_attribute")}),
    )

    def save_model(self, request: HttpRequest, obj: ResourceProfile, form: Any, change: bool) -> None:
        if change:
            saved = resource_profile_update(
                profile=ResourceProfile.objects.get(pk=obj.pk), **_form_values(form, changed_only=True)
            )
        else:
            saved = resource_profile_create(**_form_values(form, changed_only=False))
        _adopt(obj, saved)

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        _assignments_save(formset, parent_field="resource_profile", parent=form.instance)

    def delete_model(self, request: HttpRequest, obj: ResourceProfile) -> None:
        resource_profile_delete(profile=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[ResourceProfile]) -> None:
        for profile in queryset:
            resource_profile_delete(profile=profile)
