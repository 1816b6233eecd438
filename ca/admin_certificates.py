"""The admin's certificates: a list that filters and exports, a read-only page with the decoded certificate
and its downloads, and revocation with an RFC 5280 reason and a confirmation, through the revocation service.

Filters by profile, device and user come from the apps above the CA through ``ca.admin_hooks``.
"""

from __future__ import annotations

import datetime as dt
import string
from typing import Any

from cryptography.hazmat.primitives.serialization import Encoding

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.html import format_html
from django.utils.safestring import SafeString

from ca.admin_hooks import certificate_admin_extensions
from ca.choices import CertificateStatus, RevocationReason
from ca.conf import ca_settings
from ca.crypto.describe import certificate_describe, subject_text_readable
from ca.models import IssuedCertificate
from ca.services.revocation_requests import certificate_revoke_by_admin
from core.admin_lists import CsvExportAdminMixin, EstimatedCountPaginator
from core.exceptions import ApplicationError

__all__ = ["ExpiresBeforeFilter", "IssuedCertificateAdmin", "RevokeForm", "StatusFilter"]


class RevokeForm(forms.Form):
    reason = forms.ChoiceField(
        choices=RevocationReason.choices,
        initial=RevocationReason.UNSPECIFIED,
        help_text="RFC 5280 CRLReason, as the CRL and OCSP will say it.",
    )
    comment = forms.CharField(required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))


class StatusFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(str(value), str(label)) for value, label in CertificateStatus.choices]

    def queryset(
        self, request: HttpRequest, queryset: QuerySet[IssuedCertificate]
    ) -> QuerySet[IssuedCertificate]:
        value = self.value()
        return queryset.with_status(value) if value else queryset  # type: ignore[attr-defined]


#: A search term of at least this many hex digits is first looked up as a serial or thumbprint.
HEX_LOOKUP_MIN = 16

#: ``expires_before`` takes a number of days from now (``30d``) or a date (``2027-01-31``).
EXPIRY_WINDOWS = (("7d", "in 7 days"), ("30d", "in 30 days"), ("90d", "in 90 days"))


def expiry_cutoff(value: str, now: dt.datetime | None = None) -> dt.datetime | None:
    now = now or timezone.now()
    if value.endswith("d") and value[:-1].isdigit():
        return now + dt.timedelta(days=int(value[:-1]))
    day = parse_date(value)
    if day is None:
        return None
    return dt.datetime.combine(day, dt.time.min, tzinfo=dt.UTC)


class ExpiresBeforeFilter(admin.SimpleListFilter):
    """Valid certificates that expire before a time: the "expiring soon" view."""

    title = "expires"
    parameter_name = "expires_before"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        choices = list(EXPIRY_WINDOWS)
        value = self.value()
        if value and value not in dict(choices):
            choices.append((value, f"before {value}"))
        return choices

    def queryset(
        self, request: HttpRequest, queryset: QuerySet[IssuedCertificate]
    ) -> QuerySet[IssuedCertificate]:
        value = self.value()
        if not value:
            return queryset
        cutoff = expiry_cutoff(value)
        if cutoff is None:
            return queryset.none()
        return queryset.valid().filter(not_after__lt=cutoff)  # type: ignore[attr-defined,no-any-return]


def _csv_columns() -> list[tuple[str, Any]]:
    return [
        ("subject", lambda c: c.subject),
        ("status", lambda c: c.status),
        ("serial", lambda c: c.serial),
        ("not_before", lambda c: c.not_before),
        ("not_after", lambda c: c.not_after),
        ("authority", lambda c: c.authority.name),
        ("template", lambda c: c.template.name),
        ("sans", lambda c: " ".join(c.sans)),
        ("thumbprint_sha1", lambda c: c.fingerprint_sha1),
        ("thumbprint_sha256", lambda c: c.fingerprint_sha256),
        ("revoked_at", lambda c: c.revoked_at),
        ("revocation_reason", lambda c: c.revocation_reason),
    ]


@admin.register(IssuedCertificate)
class IssuedCertificateAdmin(CsvExportAdminMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("subject_display", "status_display", "expires", "template_name", "serial_display")
    list_display_links = ("subject_display",)
    list_filter = (StatusFilter, ExpiresBeforeFilter, "authority", "template", "revocation_reason")
    list_select_related = ("authority", "template")
    search_fields = ("subject", "serial", "fingerprint_sha1", "fingerprint_sha256")
    date_hierarchy = "not_before"  # drilled down from the range (templatetags/ca_admin_lists.py)
    # A million rows: count exactly only up to 10,000 matches, and not the whole table besides.
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    actions = ("revoke_selected",)
    csv_filename = "certificates.csv"
    change_list_template = "admin/ca/issuedcertificate/change_list.html"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False  # issued certificates are records: read them, download them, revoke them

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_revoke_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("ca.revoke_issuedcertificate")

    # --- the list ------------------------------------------------------------------------------------

    def get_list_filter(self, request: HttpRequest) -> Any:
        return (*self.list_filter, *certificate_admin_extensions.list_filters)

    def get_search_fields(self, request: HttpRequest) -> Any:
        return (*self.search_fields, *certificate_admin_extensions.search_fields)

    def get_csv_columns(self, request: HttpRequest) -> Any:
        return [*_csv_columns(), *certificate_admin_extensions.csv_columns]

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[IssuedCertificate], search_term: str
    ) -> tuple[QuerySet[IssuedCertificate], bool]:
        """A pasted serial or thumbprint (16 hex digits or more; colons and spaces allowed) is looked up
        exactly first, through the indexes; only when nothing has it is it searched as text, which reads
        every row's subject, serial and thumbprints (seconds at a million rows).
        """
        term = search_term.strip().replace(":", "").replace(" ", "")
        if len(term) >= HEX_LOOKUP_MIN and all(character in string.hexdigits for character in term):
            exact = queryset.filter(
                Q(serial__iexact=term) | Q(fingerprint_sha1__iexact=term) | Q(fingerprint_sha256=term.upper())
            )
            if exact.exists():
                return exact, False
        return super().get_search_results(request, queryset, search_term)

    def get_ordering(self, request: HttpRequest) -> Any:
        """Newest first; by expiry when the expiry filter is on. Those rows have the oldest notBefore (the
        validity is fixed), so walking the notBefore index for them would read most of the table.
        """
        if request.GET.get(ExpiresBeforeFilter.parameter_name):
            return ("not_after",)
        return super().get_ordering(request)

    def action_checkbox(self, obj: IssuedCertificate) -> SafeString:
        """The row's checkbox, as Django's own (a form widget rendered through the template engine: a
        tenth of the page's time at 100 rows).
        """
        return format_html(
            '<input type="checkbox" name="{}" value="{}" class="action-select" aria-label="{}">',
            helpers.ACTION_CHECKBOX_NAME,
            obj.pk,
            f"Select this object for an action - {obj}",
        )

    def get_queryset(self, request: HttpRequest) -> QuerySet[IssuedCertificate]:
        queryset = super().get_queryset(request).select_related("authority", "template")
        if certificate_admin_extensions.select_related:
            queryset = queryset.select_related(*certificate_admin_extensions.select_related)
        return queryset

    @admin.display(description="Subject", ordering="subject")
    def subject_display(self, obj: IssuedCertificate) -> str:
        subject = subject_text_readable(obj.subject) if obj.subject else "(no subject)"
        return format_html('<span class="cp-clip" title="{0}">{0}</span>', subject)

    @admin.display(description="Expires", ordering="not_after")
    def expires(self, obj: IssuedCertificate) -> str:
        return format_html('<span class="nowrap">{}</span>', f"{obj.not_after:%Y-%m-%d}")

    @admin.display(description="Template", ordering="template__name")
    def template_name(self, obj: IssuedCertificate) -> str:
        return format_html('<span title="{}">{}</span>', obj.template.display_name, obj.template.name)

    @admin.display(description="Serial", ordering="serial")
    def serial_display(self, obj: IssuedCertificate) -> str:
        return format_html('<code class="cp-clip cp-serial" title="{0}">{0}</code>', obj.serial)

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        return super().changelist_view(request, {"title": "Certificates", **(extra_context or {})})

    @admin.display(description="Status")
    def status_display(self, obj: IssuedCertificate) -> str:
        status = obj.status
        return format_html(
            '<span class="cp-badge cp-badge-{}">{}</span>', status, CertificateStatus(status).label
        )

    # --- the page ------------------------------------------------------------------------------------

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view
        return [
            path(
                "<int:pk>/download/<str:kind>/",
                view(self.download_view),
                name="ca_issuedcertificate_download",
            ),
            path("<int:pk>/revoke/", view(self.revoke_view), name="ca_issuedcertificate_revoke"),
            *super().get_urls(),
        ]

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        """The certificate decoded (read-only): names, extensions, validity, thumbprints, the chain."""
        certificate = self._get(request, object_id)
        described = certificate_describe(certificate.certificate)
        context = {
            **self.admin_site.each_context(request),
            "title": described.subject or certificate.serial,
            "subtitle": None,
            "opts": self.model._meta,
            "original": certificate,
            "certificate": certificate,
            "described": described,
            "chain": certificate.authority.chain(),
            "related": [
                link for provide in certificate_admin_extensions.related for link in provide(certificate)
            ],
            "may_revoke": self.has_revoke_permission(request) and certificate.revoked_at is None,
            "request_row": certificate.request,
            "has_view_request": request.user.has_perm("ca.view_certificaterequest"),
            **(extra_context or {}),
        }
        return TemplateResponse(request, "admin/ca/issuedcertificate/detail.html", context)

    def _get(self, request: HttpRequest, object_id: Any) -> IssuedCertificate:
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        certificate: IssuedCertificate | None = self.get_object(request, str(object_id))
        if certificate is None:
            raise Http404("no such certificate")
        return certificate

    def download_view(self, request: HttpRequest, pk: int, kind: str) -> HttpResponse:
        certificate = self._get(request, pk)
        name = certificate.serial
        if kind == "pem":
            response = HttpResponse(certificate.pem, content_type="application/x-pem-file")
            filename = f"{name}.pem"
        elif kind == "der":
            response = HttpResponse(bytes(certificate.der), content_type="application/pkix-cert")
            filename = f"{name}.cer"
        elif kind == "chain":
            pem = certificate.pem + "".join(
                ca.certificate.public_bytes(Encoding.PEM).decode("ascii")
                for ca in certificate.authority.chain()
            )
            response = HttpResponse(pem, content_type="application/pem-certificate-chain")
            filename = f"{name}-chain.pem"
        else:
            raise Http404("unknown format")
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response

    def revoke_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """GET: the confirmation, naming the certificate; POST: revoke through the revocation service."""
        if not self.has_revoke_permission(request):
            raise PermissionDenied  # the service refuses too (core.requesters)
        certificate = get_object_or_404(IssuedCertificate.objects.select_related("authority"), pk=pk)
        page = reverse("admin:ca_issuedcertificate_change", args=[certificate.pk])
        form = RevokeForm(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            try:
                revocation = certificate_revoke_by_admin(
                    certificate=certificate,
                    reason=form.cleaned_data["reason"],
                    comment=form.cleaned_data["comment"],
                    requested_by=f"admin:{request.user.get_username()}",
                    wait=ca_settings().REVOKE_WAIT,
                )
            except ApplicationError as exc:
                exc.record()
                self.message_user(request, exc.message, messages.ERROR)
                return HttpResponseRedirect(page)
            if revocation.done:
                self.message_user(request, f"Certificate {certificate.serial} revoked; the CRL is published.")
            else:
                self.message_user(
                    request, f"Revocation of {certificate.serial} queued for the CA worker.", messages.WARNING
                )
            return HttpResponseRedirect(page)
        context = {
            **self.admin_site.each_context(request),
            "title": "Revoke this certificate?",
            "opts": self.model._meta,
            "certificate": certificate,
            "subject": subject_text_readable(certificate.subject),
            "form": form,
            "cancel_url": page,
        }
        return TemplateResponse(request, "admin/ca/issuedcertificate/revoke_one.html", context)

    # --- the bulk action -----------------------------------------------------------------------------

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
