"""The versioned API: /api/v1/ collects each app's router; the schema and docs are served locally."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from access.api.urls import router as access_router
from audit.api.urls import router as audit_router
from ca.api.urls import router as ca_router
from directory.api.urls import router as directory_router
from eventlog.api.urls import router as eventlog_router
from profiles.api.urls import router as profiles_router
from profiles.api.urls import urlpatterns as profiles_urls

router = DefaultRouter()
# directory after profiles: both register `devices` (profiles only detail actions), the list is directory's.
for app_router in (
    ca_router,
    profiles_router,
    directory_router,
    eventlog_router,
    access_router,
    audit_router,
):
    router.registry.extend(app_router.registry)

urlpatterns = [
    path("v1/", include(([*router.urls, *profiles_urls], "api"), namespace="v1")),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("redoc/", SpectacularRedocView.as_view(url_name="schema"), name="redoc"),
]
