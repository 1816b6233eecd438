"""Admin of the CA: everything visible and filterable; actions go through the services.

Certificates are in ``ca.admin_certificates``, the request queue in ``ca.admin_requests``.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from ca.admin_certificates import IssuedCertificateAdmin, RevokeForm, StatusFilter
from ca.admin_pkcs import PkcsRequestAdmin
from ca.admin_requests import CertificateRequestAdmin
from ca.choices import SignatureHash
from ca.constants import WELL_KNOWN_EKUS
from ca.dispatch import ca_task_send
from ca.messages import CrlGenerateMessage
from ca.models import (
    AuthorityRollover,
    CertificateAuthority,
    CertificateRevocationList,
    CertificateTemplate,
    OcspResponder,
    RevocationRequest,
    RevocationRequestItem,
)
from ca.selectors import crl_get_latest, ocsp_responder_get_current

__all__ = [
    "AuthorityRolloverAdmin",
    "CertificateAuthorityAdmin",
    "CertificateRequestAdmin",
    "CertificateTemplateAdmin",
    "IssuedCertificateAdmin",
    "PkcsRequestAdmin",
    "RevokeForm",
    "StatusFilter",
]


def _validity_left(not_after: Any) -> str:
    left = not_after - timezone.now()
    if left.total_seconds() <= 0:
        return "expired"
    days = left.days
    return f"{days // 365} y {days % 365} d" if days >= 365 else f"{days} d"


@admin.register(CertificateAuthority)
class CertificateAuthorityAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = (
        "name",
        "parent",
        "key_display",
        "not_after",
        "validity_left",
        "ocsp_status",
        "enabled",
        "downloads",
    )
    list_filter = ("enabled", "key_type", "parent")
    list_select_related = ("parent",)
    search_fields = ("name", "slug", "subject", "fingerprint_sha1", "fingerprint_sha256")
    filter_horizontal = ("published_templates",)
    fieldsets = (
        (None, {"fields": ("name", "slug", "enabled", "downloads", "chain_display")}),
        (
            "Certificate",
            {
                "fields": (
                    "subject",
                    "serial",
                    "not_before",
                    "not_after",
                    "validity_left",
                    "fingerprint_sha1",
                    "fingerprint_sha256",
                    "key_display",
                    "key_backend",
                    "signature_hash",
                )
            },
        ),
        (
            "Revocation and access",
            {
                "fields": (
                    "crl_url",
                    "issuer_url",
                    "ocsp_url",
                    "crl_validity_hours",
                    "latest_crl",
                    "ocsp_status",
                )
            },
        ),
        ("Certificate templates to issue", {"fields": ("published_templates",)}),
        ("PEM", {"classes": ("collapse",), "fields": ("certificate_pem",)}),
    )
    readonly_fields = (
        "slug",
        "subject",
        "serial",
        "not_before",
        "not_after",
        "validity_left",
        "fingerprint_sha1",
        "fingerprint_sha256",
        "key_display",
        "key_backend",
        "certificate_pem",
        "downloads",
        "chain_display",
        "latest_crl",
        "ocsp_status",
    )
    actions = ("publish_crl",)
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # CAs are created with `manage.py init_ca`, on the side that holds the key passphrase

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False  # a CA's certificates and CRLs refer to it

    @admin.display(description="Key")
    def key_display(self, obj: CertificateAuthority) -> str:
        return f"{obj.key_type} {obj.key_size}"

    @admin.display(description="Validity left", ordering="not_after")
    def validity_left(self, obj: CertificateAuthority) -> str:
        return _validity_left(obj.not_after)

    @admin.display(description="OCSP")
    def ocsp_status(self, obj: CertificateAuthority) -> str:
        if not obj.ocsp_url:
            return "not published"
        responder = ocsp_responder_get_current(authority=obj)
        if responder is None:
            return format_html('<span class="cp-badge cp-badge-failed">{}</span>', "no responder")
        return format_html(
            '<span class="cp-badge cp-badge-issued">responder</span> until {}',
            f"{responder.not_after:%Y-%m-%d}",
        )

    @admin.display(description="Latest CRL")
    def latest_crl(self, obj: CertificateAuthority) -> str:
        crl = crl_get_latest(authority=obj)
        if crl is None:
            return "none published"
        return (
            f"#{crl.number}, {crl.revoked_count} revoked, this update {crl.this_update:%Y-%m-%d %H:%M}, "
            f"next {crl.next_update:%Y-%m-%d %H:%M}"
        )

    @admin.display(description="Downloads")
    def downloads(self, obj: CertificateAuthority) -> str:
        return format_html(
            '<a href="{}">certificate (.cer)</a> · <a href="{}">chain (PEM)</a> · <a href="{}">CRL</a>',
            reverse("ca:certificate", args=[obj.slug]),
            reverse("ca:chain", args=[obj.slug]),
            reverse("ca:crl", args=[obj.slug]),
        )

    @admin.display(description="Chain")
    def chain_display(self, obj: CertificateAuthority) -> str:
        return format_html(
            '<ol class="cp-chain">{}</ol>',
            format_html_join(
                "",
                "<li>{} <small>({}, until {})</small></li>",
                (
                    (ca.subject, "root" if ca.is_root else "issued by its parent", f"{ca.not_after:%Y-%m-%d}")
                    for ca in obj.chain()
                ),
            ),
        )

    def has_publish_crl_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("ca.publish_crl")

    @admin.action(description="Publish a new CRL now (on the CA worker)", permissions=["publish_crl"])
    def publish_crl(self, request: HttpRequest, queryset: QuerySet[CertificateAuthority]) -> None:
        for authority in queryset:
            ca_task_send(CrlGenerateMessage(authority_id=authority.pk))
        self.message_user(request, f"CRL publication queued for {queryset.count()} CA(s).")


def _by_name(item: tuple[str, str]) -> str:
    return item[1]


class CertificateTemplateForm(forms.ModelForm):  # type: ignore[type-arg]
    """The template's lists as pickers, never JSON: named EKUs plus custom OIDs, hashes as checkboxes."""

    known_ekus = forms.MultipleChoiceField(
        label="Application policies",
        choices=[(oid, f"{name} ({oid})") for oid, name in sorted(WELL_KNOWN_EKUS.items(), key=_by_name)],
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="Extended key usages of issued certificates; add only those the devices need.",
    )
    custom_ekus = forms.CharField(
        label="Other application policy OIDs",
        required=False,
        widget=forms.TextInput(attrs={"size": 60, "placeholder": "1.3.6.1.4.1.311.10.3.12, ..."}),
        help_text="Dotted OIDs, separated by commas or spaces.",
    )
    hashes = forms.MultipleChoiceField(
        label="Allowed signature hashes",
        choices=SignatureHash.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text="Hashes a request may be signed with.",
    )

    class Meta:
        model = CertificateTemplate
        fields = (
            "name",
            "display_name",
            "purpose",
            "validity_days",
            "allow_requester_validity",
            "subject_supplied_in_request",
            "digital_signature",
            "key_encipherment",
            "non_repudiation",
            "ocsp_no_check",
            "min_rsa_key_size",
            "min_ec_key_size",
            "requires_approval",
            "enabled",
        )
        labels = {
            "ocsp_no_check": "OCSP no check",
            "min_rsa_key_size": "Minimum RSA key size",
            "min_ec_key_size": "Minimum EC key size",
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        policies = list(self.instance.application_policies or [])
        self.fields["known_ekus"].initial = [oid for oid in policies if oid in WELL_KNOWN_EKUS]
        self.fields["custom_ekus"].initial = ", ".join(oid for oid in policies if oid not in WELL_KNOWN_EKUS)
        self.fields["hashes"].initial = list(self.instance.allowed_signature_hashes or [])

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        custom = [oid for oid in (cleaned.get("custom_ekus") or "").replace(",", " ").split() if oid]
        self.instance.application_policies = [*cleaned.get("known_ekus", []), *custom]
        self.instance.allowed_signature_hashes = list(cleaned.get("hashes", []))
        return cleaned

    def _post_clean(self) -> None:
        super()._post_clean()  # type: ignore[misc]  # ModelForm's (untyped in the stubs)
        # The model's list errors belong to the pickers that make the lists.
        for model_field, form_field in (
            ("application_policies", "custom_ekus"),
            ("allowed_signature_hashes", "hashes"),
        ):
            if model_field in self.errors:
                for error in self.errors.pop(model_field):
                    self.add_error(form_field, error)


@admin.register(CertificateTemplate)
class CertificateTemplateAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Fieldsets follow the AD CS template's tabs (the reference's example configuration)."""

    form = CertificateTemplateForm
    list_display = (
        "display_name",
        "name",
        "purpose",
        "validity_days",
        "requires_approval",
        "ekus",
        "enabled",
    )
    list_filter = ("purpose", "enabled", "requires_approval", "allow_requester_validity")
    search_fields = ("name", "display_name")
    readonly_fields = ("published_by",)
    fieldsets = (
        ("General", {"fields": ("display_name", "name", "validity_days", "enabled")}),
        ("Request handling", {"fields": ("purpose", "allow_requester_validity")}),
        ("Subject name", {"fields": ("subject_supplied_in_request",)}),
        (
            "Extensions",
            {
                "description": "Key usage and application policies (enhanced key usage) of issued "
                "certificates.",
                "fields": (
                    "digital_signature",
                    "key_encipherment",
                    "non_repudiation",
                    "ocsp_no_check",
                    "known_ekus",
                    "custom_ekus",
                ),
            },
        ),
        ("Cryptography", {"fields": ("min_rsa_key_size", "min_ec_key_size", "hashes")}),
        (
            "Security",
            {
                "description": "Who may enroll: the SCEP services' registration authority, for the CAs that "
                "publish this template.",
                "fields": ("published_by",),
            },
        ),
        ("Issuance requirements", {"fields": ("requires_approval",)}),
    )

    @admin.display(description="Application policies")
    def ekus(self, obj: CertificateTemplate) -> str:
        return ", ".join(WELL_KNOWN_EKUS.get(oid, oid) for oid in obj.application_policies or [])

    @admin.display(description="Published by")
    def published_by(self, obj: CertificateTemplate) -> str:
        names = (
            [ca.name for ca in CertificateAuthority.objects.filter(published_templates=obj)] if obj.pk else []
        )
        return ", ".join(names) or "no CA (add it to a CA's templates to issue)"


@admin.register(CertificateRevocationList)
class CertificateRevocationListAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("authority", "number", "this_update", "next_update", "revoked_count")
    list_filter = ("authority",)
    readonly_fields = ("authority", "number", "this_update", "next_update", "revoked_count")
    exclude = ("der",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


class RevocationRequestItemInline(admin.TabularInline):  # type: ignore[type-arg]
    model = RevocationRequestItem
    fields = ("certificate", "outcome")
    readonly_fields = ("certificate", "outcome")
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(RevocationRequest)
class RevocationRequestAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Revocation requests are records: written by the revocation services, carried out by the CA worker."""

    list_display = ("id", "created_at", "cause", "reason", "requested_by", "status", "completed_at")
    list_filter = ("status", "cause", "reason")
    search_fields = ("requested_by", "comment")
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in RevocationRequest._meta.fields]
    inlines = (RevocationRequestItemInline,)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(OcspResponder)
class OcspResponderAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Delegated OCSP responders are records: beat and ``manage.py ocsp_responder`` create them."""

    list_display = ("authority", "certificate_serial", "not_before", "not_after", "created_at")
    list_filter = ("authority",)
    list_select_related = ("authority", "certificate")
    search_fields = ("certificate__serial", "certificate__fingerprint_sha256")
    date_hierarchy = "not_before"
    fields = ("authority", "certificate", "not_before", "not_after", "created_at")
    readonly_fields = fields

    @admin.display(description="Certificate serial", ordering="certificate__serial")
    def certificate_serial(self, obj: OcspResponder) -> str:
        return obj.certificate.serial

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(AuthorityRollover)
class AuthorityRolloverAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """CA rollovers are records: ``manage.py ca_rollover`` and the CA worker write them (docs/ca-rollover)."""

    list_display = ("authority", "successor", "status_short", "switch_at", "created_at")
    list_filter = ("status", "authority")
    list_select_related = ("authority", "successor")
    search_fields = ("authority__name", "authority__slug", "successor_slug", "successor_name")
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in AuthorityRollover._meta.fields]

    @admin.display(description="Status", ordering="status")
    def status_short(self, obj: AuthorityRollover) -> str:
        """The status's first word; its page gives the whole label ("Prepared: the next CA exists, ...")."""
        return obj.get_status_display().split(":", 1)[0]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
