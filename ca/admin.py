"""Admin of the CA: everything visible and filterable; actions go through the services."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils.html import format_html

from ca.choices import CertificateRequestStatus, CertificateStatus, RevocationReason
from ca.conf import ca_settings
from ca.dispatch import ca_task_send
from ca.messages import CrlGenerateMessage
from ca.models import (
    CertificateAuthority,
    CertificateRequest,
    CertificateRevocationList,
    CertificateTemplate,
    IssuedCertificate,
    OcspResponder,
    RevocationRequest,
    RevocationRequestItem,
)
from ca.services.revocation_requests import certificate_revoke_by_admin
from ca.services.submission import certificate_request_approve, certificate_request_deny
from core.exceptions import ApplicationError


class RevokeForm(forms.Form):
    reason = forms.ChoiceField(choices=RevocationReason.choices, initial=RevocationReason.UNSPECIFIED)
    comment = forms.CharField(required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))


@admin.register(CertificateAuthority)
class CertificateAuthorityAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("name", "slug", "parent", "key_type", "key_size", "not_after", "enabled", "downloads")
    list_filter = ("enabled", "key_type", "parent")
    search_fields = ("name", "slug", "subject", "fingerprint_sha1", "fingerprint_sha256")
    filter_horizontal = ("published_templates",)
    readonly_fields = (
        "parent",
        "subject",
        "serial",
        "not_before",
        "not_after",
        "fingerprint_sha1",
        "fingerprint_sha256",
        "key_type",
        "key_size",
        "key_backend",
        "certificate_pem",
    )
    exclude = ("key_reference",)
    actions = ("publish_crl",)
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # CAs are created with `manage.py init_ca`, on the side that holds the key passphrase

    @admin.display(description="Downloads")
    def downloads(self, obj: CertificateAuthority) -> str:
        return format_html(
            '<a href="/ca/{0}.crt">cert</a> · <a href="/ca/{0}-chain.pem">chain</a> · '
            '<a href="/crl/{0}.crl">CRL</a>',
            obj.slug,
        )

    def has_publish_crl_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("ca.publish_crl")

    @admin.action(description="Publish a new CRL now (on the CA worker)", permissions=["publish_crl"])
    def publish_crl(self, request: HttpRequest, queryset: QuerySet[CertificateAuthority]) -> None:
        for authority in queryset:
            ca_task_send(CrlGenerateMessage(authority_id=authority.pk))
        self.message_user(request, f"CRL publication queued for {queryset.count()} CA(s).")


@admin.register(CertificateTemplate)
class CertificateTemplateAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = (
        "name",
        "display_name",
        "purpose",
        "validity_days",
        "allow_requester_validity",
        "requires_approval",
        "enabled",
    )
    list_filter = ("purpose", "enabled", "requires_approval", "allow_requester_validity")
    search_fields = ("name", "display_name")
    fieldsets = (
        (
            "General",
            {"fields": ("name", "display_name", "enabled", "validity_days", "allow_requester_validity")},
        ),
        ("Request handling", {"fields": ("purpose",)}),
        ("Subject name", {"fields": ("subject_supplied_in_request",)}),
        (
            "Extensions",
            {"fields": ("digital_signature", "key_encipherment", "non_repudiation", "application_policies")},
        ),
        ("Cryptography", {"fields": ("min_rsa_key_size", "min_ec_key_size", "allowed_signature_hashes")}),
        ("Issuance requirements", {"fields": ("requires_approval",)}),
    )


class StatusFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:  # type: ignore[type-arg]
        return [(str(value), str(label)) for value, label in CertificateStatus.choices]

    def queryset(
        self, request: HttpRequest, queryset: QuerySet[IssuedCertificate]
    ) -> QuerySet[IssuedCertificate]:
        value = self.value()
        return queryset.with_status(value) if value else queryset  # type: ignore[attr-defined]


@admin.register(IssuedCertificate)
class IssuedCertificateAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = (
        "subject",
        "serial",
        "authority",
        "template",
        "not_after",
        "status_display",
        "fingerprint_sha1",
    )
    list_filter = (StatusFilter, "authority", "template", "revocation_reason")
    search_fields = ("subject", "serial", "fingerprint_sha1", "fingerprint_sha256")
    date_hierarchy = "not_before"
    readonly_fields = [f.name for f in IssuedCertificate._meta.fields if f.name != "der"] + ["pem"]
    exclude = ("der",)
    actions = ("revoke_selected",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False  # issued certificates are records; revoke instead

    @admin.display(description="Status")
    def status_display(self, obj: IssuedCertificate) -> str:
        return obj.status

    @admin.action(description="Revoke selected certificates…", permissions=["revoke"])
    def revoke_selected(
        self, request: HttpRequest, queryset: QuerySet[IssuedCertificate]
    ) -> TemplateResponse | None:
        """A confirmation page with the RFC 5280 reason and a comment, then one revocation request each."""
        form = RevokeForm(request.POST if "confirm" in request.POST else None)
        if not form.is_valid():
            context = {
                **self.admin_site.each_context(request),
                "title": "Revoke certificates",
                "certificates": queryset,
                "form": form,
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
                "opts": self.model._meta,
            }
            return TemplateResponse(request, "admin/ca/issuedcertificate/revoke_confirmation.html", context)
        done = queued = 0
        for certificate in queryset:
            try:
                revocation = certificate_revoke_by_admin(
                    certificate=certificate,
                    reason=form.cleaned_data["reason"],
                    comment=form.cleaned_data["comment"],
                    requested_by=f"admin:{request.user.get_username()}",
                    wait=ca_settings().REVOKE_WAIT,
                )
            except ApplicationError as exc:
                self.message_user(request, f"{certificate.serial}: {exc.message}", messages.WARNING)
                continue
            done += revocation.done
            queued += not revocation.done
        self.message_user(request, f"{done} certificate(s) revoked, {queued} queued for the CA worker.")
        return None

    def has_revoke_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("ca.revoke_issuedcertificate")


@admin.register(CertificateRequest)
class CertificateRequestAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("id", "subject", "authority", "template", "requester", "status", "created_at")
    list_filter = ("status", "authority", "template")
    search_fields = ("subject", "requester", "public_key_sha256")
    readonly_fields = [f.name for f in CertificateRequest._meta.fields if f.name != "csr_der"]
    exclude = ("csr_der",)
    actions = ("approve_selected", "deny_selected")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_approve_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("ca.approve_certificaterequest")

    @admin.action(description="Approve selected requests", permissions=["approve"])
    def approve_selected(self, request: HttpRequest, queryset: QuerySet[CertificateRequest]) -> None:
        for item in queryset.filter(status=CertificateRequestStatus.PENDING_APPROVAL):
            certificate_request_approve(request=item, actor=f"admin:{request.user.get_username()}")
        self.message_user(request, "Approved; the CA worker issues them.")

    @admin.action(description="Deny selected requests", permissions=["approve"])
    def deny_selected(self, request: HttpRequest, queryset: QuerySet[CertificateRequest]) -> None:
        for item in queryset.filter(status=CertificateRequestStatus.PENDING_APPROVAL):
            certificate_request_deny(request=item, actor=f"admin:{request.user.get_username()}")
        self.message_user(request, "Denied.")


@admin.register(CertificateRevocationList)
class CertificateRevocationListAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("authority", "number", "this_update", "next_update", "revoked_count")
    list_filter = ("authority",)
    readonly_fields = ("authority", "number", "this_update", "next_update", "revoked_count")
    exclude = ("der",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


admin.site.site_header = "certportal administration"
admin.site.site_title = "certportal"


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
