from django.urls import path
from rest_framework.routers import SimpleRouter

from profiles.api import views, views_resources

router = SimpleRouter()
router.register("trusted-root-profiles", views.TrustedRootProfileViewSet, basename="trustedrootprofile")
router.register("scep-profiles", views.ScepProfileViewSet, basename="scepprofile")
router.register("pkcs-profiles", views_resources.PkcsProfileViewSet, basename="pkcsprofile")
router.register("resource-profiles", views_resources.ResourceProfileViewSet, basename="resourceprofile")
router.register("profile-assignments", views.ProfileAssignmentViewSet, basename="profileassignment")
router.register(
    "device-certificate-states", views.DeviceCertificateStateViewSet, basename="devicecertificatestate"
)
router.register("devices", views.DeviceActionsViewSet, basename="device-actions")

urlpatterns = [
    path("checkin/", views.CheckinView.as_view(kind="json"), name="checkin"),
    path(
        "checkin/mobileconfig/", views.CheckinView.as_view(kind="mobileconfig"), name="checkin-mobileconfig"
    ),
    path("checkin/windows-csp/", views.CheckinView.as_view(kind="windows-csp"), name="checkin-windows-csp"),
]
