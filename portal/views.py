"""The way to the dashboard, and the health check."""

from __future__ import annotations

from django.contrib.auth.mixins import LoginRequiredMixin, UserPassesTestMixin
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET
from django.views.generic import RedirectView

__all__ = ["DashboardView", "health_view"]


class DashboardView(LoginRequiredMixin, UserPassesTestMixin, RedirectView):
    """``/``: staff go to the dashboard, which is the admin's index (``portal.admin_site``); anonymous users
    to the login, others are refused.
    """

    pattern_name = "admin:index"

    def test_func(self) -> bool:
        return bool(self.request.user.is_staff)


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
