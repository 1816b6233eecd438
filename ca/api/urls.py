from rest_framework.routers import SimpleRouter

from ca.api import views

router = SimpleRouter()
router.register("certificate-authorities", views.CertificateAuthorityViewSet, basename="certificateauthority")
router.register("certificate-templates", views.CertificateTemplateViewSet, basename="certificatetemplate")
router.register("certificate-requests", views.CertificateRequestViewSet, basename="certificaterequest")
router.register("certificates", views.IssuedCertificateViewSet, basename="issuedcertificate")
router.register("revocation-requests", views.RevocationRequestViewSet, basename="revocationrequest")

urlpatterns = router.urls
