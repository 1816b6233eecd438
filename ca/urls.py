from django.urls import path

from ca import views

app_name = "ca"

urlpatterns = [
    path("crl/<slug:slug>.crl", views.crl_view, name="crl"),
    path("ca/<slug:slug>.crt", views.authority_certificate_view, name="certificate"),
    path("ca/<slug:slug>-chain.pem", views.authority_chain_view, name="chain"),
]
