"""URLs for the API tests: the directory router mounted as portal/api/urls.py mounts app routers."""

from django.contrib import admin
from django.urls import include, path

from directory.api.urls import router

urlpatterns = [
    path("api/v1/", include((router.urls, "api"), namespace="v1")),
    path("admin/", admin.site.urls),
]
