"""The dashboard and the health check."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.mixins import LoginRequiredMixin, UserPassesTestMixin
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET
from django.views.generic import TemplateView

from ca.choices import CertificateRequestStatus
from ca.models import CertificateAuthority, CertificateRequest, IssuedCertificate

__all__ = ["DashboardView", "health_view"]


class DashboardView(LoginRequiredMixin, UserPassesTestMixin, TemplateView):
    """Counts for every staff user; the certificates themselves (subjects, serials) only for those who may
    read them (``ca.view_issuedcertificate``), as in the admin.
    """

    template_name = "portal/dashboard.html"

    def test_func(self) -> bool:
        return bool(self.request.user.is_staff)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["may_view_certificates"] = self.request.user.has_perm("ca.view_issuedcertificate")
        context["authorities"] = CertificateAuthority.objects.select_related("parent").order_by(
            "parent_id", "name"
        )
        context["certificates_valid"] = IssuedCertificate.objects.valid().count()
        context["certificates_revoked"] = IssuedCertificate.objects.revoked().count()
        context["certificates_expired"] = IssuedCertificate.objects.expired().count()
        context["requests_pending"] = CertificateRequest.objects.filter(
            status=CertificateRequestStatus.PENDING_APPROVAL
        ).count()
        if context["may_view_certificates"]:
            context["recent_certificates"] = IssuedCertificate.objects.select_related(
                "authority", "template"
            )[:10]
        return context


@require_GET
def health_view(request: HttpRequest) -> JsonResponse:
    """Liveness and database reachability, for the load balancer and the compose health check."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        database = "ok"
    except Exception:
        database = "unavailable"
    status = 200 if database == "ok" else 503
    return JsonResponse(
        {"status": "ok" if status == 200 else "degraded", "database": database}, status=status
    )
