from django.urls import path, re_path

from ca.views import downloads, ocsp

app_name = "ca"

urlpatterns = [
    path("crl/<slug:slug>.crl", downloads.crl_view, name="crl"),
    path("ca/<slug:slug>.crt", downloads.authority_certificate_view, name="certificate"),
    path("ca/<slug:slug>-chain.pem", downloads.authority_chain_view, name="chain"),
    # POST to /ocsp/<slug> (the AIA URL) or /ocsp/<slug>/; GET /ocsp/<slug>/<base64 request, %-encoded>.
    re_path(r"^ocsp/(?P<slug>[-a-zA-Z0-9_]+)(?:/(?P<encoded>.*))?$", ocsp.ocsp_view, name="ocsp"),
]
