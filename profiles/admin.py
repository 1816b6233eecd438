"""Admin of profiles: the reference's "create a profile and assign it" procedure without the API.

The trusted-root and SCEP profile editors group their settings as the reference's profile blade does
(Basics, Configuration settings, Assignments), with rows for the list settings, a live preview of the
rendered request and the devices in scope (``profiles.views_preview``), and a per-profile device status
page (``profiles.admin_status``). Every write goes through the services.
"""

from __future__ import annotations

from typing import Any, Final

from typing_extensions import override

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html, format_html_join

from core.admin import ServiceErrorsAdminMixin
from directory.models import Platform
from profiles import admin_devices  # noqa: F401 - registers the managed devices page
from profiles.admin_assignments import _adopt, _AssignmentInline, _assignments_save, _form_values
from profiles.admin_selectors import preview_devices, preview_users
from profiles.admin_status import STATUS_PERMISSION, device_status_view
from profiles.choices import CertificateDelivery
from profiles.forms import (
    SCEP_APPLICABILITY,
    TRUSTED_ROOT_APPLICABILITY,
    ScepProfileForm,
    TrustedRootProfileForm,
    editor_rules,
)
from profiles.models import (
    DeviceCertificate,
    DeviceCertificateState,
    DeviceChallenge,
    ProfileAssignment,
    ScepProfile,
    TrustedRootProfile,
)
from profiles.naming.sans import SanType
from profiles.options import HashAlgorithm
from profiles.services.profiles import (
    assignment_create,
    assignment_delete,
    assignment_update,
    scep_profile_create,
    scep_profile_delete,
    scep_profile_update,
    trusted_root_profile_create,
    trusted_root_profile_update,
)
from profiles.validation import SAN_TYPES
from profiles.views_preview import profile_preview_view


class ScepAssignmentInline(_AssignmentInline):
    fk_name = "scep_profile"


class RootAssignmentInline(_AssignmentInline):
    fk_name = "trusted_root_profile"


class _ProfileEditorMixin:
    """The editor's page: its rules for the browser, the live preview's URL, the device status link."""

    applicability: Any = {}
    preview_options_shown = False

    def _editor_urls(self, name: str) -> list[URLPattern]:
        model_admin: Any = self
        site = model_admin.admin_site

        def preview(request: HttpRequest, object_id: str | None = None) -> HttpResponse:
            return profile_preview_view(request, model_admin=model_admin, object_id=object_id)

        return [
            path("preview/", site.admin_view(preview), name=f"profiles_{name}_preview"),
            path("<path:object_id>/preview/", site.admin_view(preview), name=f"profiles_{name}_preview"),
        ]

    def _editor_context(self, request: HttpRequest, obj: Any, name: str) -> dict[str, Any]:
        model_admin: Any = self
        editable = (
            model_admin.has_change_permission(request, obj)
            if obj
            else model_admin.has_add_permission(request)
        )
        args = [obj.pk] if obj is not None else []
        context: dict[str, Any] = {
            "editable": editable,
            "editor_rules": editor_rules(self.applicability),
            "preview_url": reverse(f"admin:profiles_{name}_preview", args=args),
            "preview_options": None,
        }
        if self.preview_options_shown:
            platform = obj.platform if obj is not None else ""
            context["preview_options"] = {
                "devices": preview_devices(platform=platform),
                "users": preview_users(),
            }
        return context


@admin.register(TrustedRootProfile)
class TrustedRootProfileAdmin(_ProfileEditorMixin, ServiceErrorsAdminMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    form = TrustedRootProfileForm
    applicability = TRUSTED_ROOT_APPLICABILITY
    list_display = ("name", "platform", "subject", "thumbprint_sha1", "destination_store", "not_after")
    list_filter = ("platform",)
    search_fields = ("name", "subject", "thumbprint_sha1")
    readonly_fields = ("thumbprint_sha1", "subject", "not_after", "version")
    fieldsets = (
        ("Basics", {"fields": ("name", "description", "platform", "version")}),
        (
            "Configuration settings",
            {
                "description": "The root (or intermediate) CA certificate the devices are to trust: one of "
                "our CAs, or a .cer file.",
                "fields": (
                    "authority", "certificate_file", "certificate_file_name", "destination_store",
                    "subject", "thumbprint_sha1", "not_after",
                ),
            },
        ),
    )  # fmt: skip
    inlines = (RootAssignmentInline,)

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        """A new profile has no certificate yet (its subject, thumbprint and expiry follow from it); read
        only, the destination store is shown for Windows only.
        """
        if obj is not None:
            if self.has_change_permission(request, obj) or obj.platform in Platform.windows():
                return self.fieldsets
            derived = {"destination_store"}  # read only: what applies to the saved profile
        else:
            derived = {"subject", "thumbprint_sha1", "not_after", "version"}
        return tuple(
            (title, {**options, "fields": tuple(f for f in options["fields"] if f not in derived)})
            for title, options in self.fieldsets
        )

    def get_urls(self) -> list[URLPattern]:
        return self._editor_urls("trustedrootprofile") + super().get_urls()

    @override
    def render_change_form(
        self,
        request: HttpRequest,
        context: dict[str, Any],
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: Any = None,
    ) -> Any:
        context.update(self._editor_context(request, obj, "trustedrootprofile"))
        return super().render_change_form(request, context, add, change, form_url, obj)

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

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        _assignments_save(formset, parent_field="trusted_root_profile", parent=form.instance)


#: The blade's groups; the last two are certportal's (which CA issues, and what revokes).
_SCEP_FIELDSETS: Final[Any] = (
    ("Basics", {"fields": ("name", "description", "platform", "version")}),
    (
        "Configuration settings",
        {
            "description": "Settings that do not apply to the chosen platform or certificate type are "
            "hidden.",
            "fields": (
                "certificate_type",
                "subject_name_format",
                "subject_name_format_string",
                "subject_alternative_names",
                ("validity_value", "validity_scale"),
                "key_storage_provider",
                ("key_usage_key_encipherment", "key_usage_digital_signature"),
                "key_size",
                "hash_algorithms",
                "root_profile",
                "extended_key_usages",
                "allow_all_apps_access",
                "renewal_threshold_percentage",
                "scep_server_urls",
            ),
        },
    ),
    ("Issuing CA and template", {"fields": ("authority", "template")}),
    ("Strong certificate mapping (KB5014754)", {"fields": ("include_sid_uri", "include_sid_extension")}),
    ("Revocation", {"fields": ("revoke_on_removal", "revoke_on_change", "revoke_superseded")}),
)
#: Read only, the list settings are shown as text, not JSON.
_READ_ONLY_DISPLAY: Final = {
    "subject_alternative_names": "san_list",
    "extended_key_usages": "eku_list",
    "hash_algorithms": "hash_list",
    "scep_server_urls": "url_list",
}
_SAN_LABELS: Final = {key: SanType(value).label for key, value in SAN_TYPES.items()}


def _lines(items: list[str]) -> str:
    if not items:
        return "—"
    return format_html_join("", "<div>{}</div>", ((item,) for item in items))


@admin.register(ScepProfile)
class ScepProfileAdmin(_ProfileEditorMixin, ServiceErrorsAdminMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    form = ScepProfileForm
    applicability = SCEP_APPLICABILITY
    preview_options_shown = True
    list_display = (
        "name",
        "platform",
        "certificate_type",
        "subject_name_format",
        "authority",
        "template",
        "version",
        "device_status",
    )
    list_filter = ("platform", "certificate_type", "authority", "template")
    search_fields = ("name", "description", "subject_name_format_string")
    readonly_fields = ("version", *_READ_ONLY_DISPLAY.values())
    inlines = (ScepAssignmentInline,)
    fieldsets = _SCEP_FIELDSETS

    def get_queryset(self, request: HttpRequest) -> QuerySet[ScepProfile]:
        """SCEP profiles only: the PKCS profiles (same table) have their own page."""
        return super().get_queryset(request).filter(certificate_delivery=CertificateDelivery.SCEP)

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        """Read only: the list settings as text, and only the settings that apply to the saved profile."""
        if obj is None or self.has_change_permission(request, obj):
            return _SCEP_FIELDSETS
        facts = {
            "platform": obj.platform,
            "certificate_type": obj.certificate_type,
            "subject_name_format": obj.subject_name_format,
        }

        def applies(entry: Any) -> bool:
            names = entry if isinstance(entry, tuple) else (entry,)
            return all(
                name not in SCEP_APPLICABILITY or SCEP_APPLICABILITY[name].holds(**facts) for name in names
            )

        return tuple(
            (
                title,
                {
                    **options,
                    "fields": tuple(_readable(entry) for entry in options["fields"] if applies(entry)),
                },
            )
            for title, options in _SCEP_FIELDSETS
        )

    def get_urls(self) -> list[URLPattern]:
        def status(request: HttpRequest, object_id: str) -> HttpResponse:
            return device_status_view(request, model_admin=self, object_id=object_id)

        return [
            path(
                "<path:object_id>/devices/",
                self.admin_site.admin_view(status),
                name="profiles_scepprofile_devices",
            ),
            *self._editor_urls("scepprofile"),
            *super().get_urls(),
        ]

    @override
    def render_change_form(
        self,
        request: HttpRequest,
        context: dict[str, Any],
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: Any = None,
    ) -> Any:
        context.update(self._editor_context(request, obj, "scepprofile"))
        if obj is not None and request.user.has_perm(STATUS_PERMISSION):
            context["device_status_url"] = reverse("admin:profiles_scepprofile_devices", args=[obj.pk])
        return super().render_change_form(request, context, add, change, form_url, obj)

    @admin.display(description="Device status")
    def device_status(self, obj: ScepProfile) -> str:
        url = reverse("admin:profiles_scepprofile_devices", args=[obj.pk])
        return format_html('<a href="{}">Device status</a>', url)

    @admin.display(description="Subject alternative name")
    def san_list(self, obj: ScepProfile) -> str:
        entries = obj.subject_alternative_names if isinstance(obj.subject_alternative_names, list) else []
        return _lines(
            [f"{_SAN_LABELS.get(str(e.get('type')), e.get('type'))}: {e.get('value')}" for e in entries]
        )

    @admin.display(description="Extended key usage")
    def eku_list(self, obj: ScepProfile) -> str:
        entries = obj.extended_key_usages if isinstance(obj.extended_key_usages, list) else []
        return _lines([f"{e.get('name')} ({e.get('oid')})" for e in entries])

    @admin.display(description="Hash algorithm")
    def hash_list(self, obj: ScepProfile) -> str:
        labels = {member.value: member.label for member in HashAlgorithm}
        return _lines([labels.get(str(value), str(value)) for value in obj.hash_algorithms or []])

    @admin.display(description="SCEP server URLs")
    def url_list(self, obj: ScepProfile) -> str:
        return _lines([str(url) for url in obj.scep_server_urls or []])

    def save_model(self, request: HttpRequest, obj: ScepProfile, form: Any, change: bool) -> None:
        """Through the services: a change bumps the version, so devices renew to pick it up."""
        if change:
            saved = scep_profile_update(
                profile=ScepProfile.objects.get(pk=obj.pk), **_form_values(form, changed_only=True)
            )
        else:
            saved = scep_profile_create(**_form_values(form, changed_only=False))
        _adopt(obj, saved)

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        _assignments_save(formset, parent_field="scep_profile", parent=form.instance)

    def delete_model(self, request: HttpRequest, obj: ScepProfile) -> None:
        scep_profile_delete(profile=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[ScepProfile]) -> None:
        for profile in queryset:
            scep_profile_delete(profile=profile)


def _readable(entry: Any) -> Any:
    if isinstance(entry, tuple):
        return tuple(_readable(item) for item in entry)
    return _READ_ONLY_DISPLAY.get(entry, entry)


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


from profiles import admin_resources  # noqa: E402, F401 - registers the PKCS and resource profile pages
