"""The CA's request queue in the admin, and the pending-requests page where certificate managers approve or
deny with a comment (the reference's "Pending Requests" of the CA console). Decisions go through
``ca.services.submission``.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse

from ca.choices import CertificateRequestStatus
from ca.models import CertificateRequest
from ca.services.submission import certificate_request_approve, certificate_request_deny
from core.exceptions import ApplicationError

__all__ = ["CertificateRequestAdmin", "DecisionForm"]

APPROVE_PERMISSION = "ca.approve_certificaterequest"


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approve", "Approve"), ("deny", "Deny")])
    comment = forms.CharField(
        required=False,
        max_length=1000,
        widget=forms.TextInput(attrs={"placeholder": "Comment (a denial's reason)", "size": 28}),
    )


@admin.register(CertificateRequest)
class CertificateRequestAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("id", "subject", "status", "template", "authority", "requester", "created_at")
    list_filter = ("status", "authority", "template")
    list_select_related = ("authority", "template")
    search_fields = ("subject", "requester", "public_key_sha256")
    readonly_fields = [f.name for f in CertificateRequest._meta.fields if f.name != "csr_der"]
    exclude = ("csr_der",)
    actions = ("approve_selected", "deny_selected")
    change_list_template = "admin/ca/certificaterequest/change_list.html"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_approve_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(APPROVE_PERMISSION)

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view
        return [
            path("pending/", view(self.pending_view), name="ca_certificaterequest_pending"),
            path("<int:pk>/decide/", view(self.decide_view), name="ca_certificaterequest_decide"),
            *super().get_urls(),
        ]

    # --- the queue -----------------------------------------------------------------------------------

    def pending_view(self, request: HttpRequest) -> TemplateResponse:
        if not self.has_approve_permission(request):
            raise PermissionDenied
        pending = (
            CertificateRequest.objects.filter(status=CertificateRequestStatus.PENDING_APPROVAL)
            .select_related("authority", "template")
            .order_by("created_at")
        )
        context = {
            **self.admin_site.each_context(request),
            "title": "Pending requests",
            "opts": self.model._meta,
            "pending": [(item, DecisionForm(prefix=f"r{item.pk}")) for item in pending],
        }
        return TemplateResponse(request, "admin/ca/certificaterequest/pending.html", context)

    def decide_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        if request.method != "POST" or not self.has_approve_permission(request):
            raise PermissionDenied
        item = get_object_or_404(CertificateRequest, pk=pk)
        form = DecisionForm(request.POST, prefix=f"r{pk}")
        queue = reverse("admin:ca_certificaterequest_pending")
        if not form.is_valid():
            self.message_user(request, "Choose approve or deny.", messages.ERROR)
            return HttpResponseRedirect(queue)
        actor = f"admin:{request.user.get_username()}"
        comment = form.cleaned_data["comment"]
        try:
            if form.cleaned_data["decision"] == "approve":
                certificate_request_approve(request=item, actor=actor)
                self.message_user(
                    request, f"Request {pk} ({item.subject}) approved; the CA worker issues it."
                )
            else:
                certificate_request_deny(request=item, actor=actor, reason=comment)
                self.message_user(request, f"Request {pk} ({item.subject}) denied.")
        except ApplicationError as exc:
            self.message_user(request, exc.message, messages.ERROR)
        return HttpResponseRedirect(queue)

    # --- bulk actions on the full list ---------------------------------------------------------------

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

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        extra = {"may_approve": self.has_approve_permission(request), **(extra_context or {})}
        return super().changelist_view(request, extra)
