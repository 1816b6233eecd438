"""URLs: the portal, the admin, the API, public CA downloads, and (from enrollment) the SCEP paths."""

from django.contrib import admin
from django.urls import include, path

from portal import health, metrics, views

urlpatterns = [
    path("", include(([path("", views.DashboardView.as_view(), name="dashboard")], "portal"))),
    path("healthz", views.health_view, name="health"),
    path("readyz", health.readiness_view, name="readiness"),
    path("metrics", metrics.metrics_view, name="metrics"),
    path("admin/", admin.site.urls),
    path("api/", include("portal.api.urls")),
    path("", include("ca.urls")),
    path("", include("enrollment.urls")),
]

#: An outage of a dependency escaping any view or middleware is a 503 with Retry-After, not a 500 page.
handler500 = "portal.errors.server_error"
