"""Public, unauthenticated downloads a relying party needs: CA certificates and CRLs (CDP and AIA)."""

from __future__ import annotations

from cryptography.hazmat.primitives.serialization import Encoding

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_GET

from ca.models import CertificateAuthority
from ca.selectors import crl_get_latest

__all__ = ["authority_certificate_view", "authority_chain_view", "crl_view"]


@require_GET
def crl_view(request: HttpRequest, slug: str) -> HttpResponse:
    authority = get_object_or_404(CertificateAuthority, slug=slug)
    crl = crl_get_latest(authority=authority)
    if crl is None:
        raise Http404("no CRL has been published for this CA yet")
    response = HttpResponse(bytes(crl.der), content_type="application/pkix-crl")
    response["Content-Disposition"] = f'inline; filename="{authority.slug}.crl"'
    response["Cache-Control"] = "public, max-age=300"
    return response


@require_GET
def authority_certificate_view(request: HttpRequest, slug: str) -> HttpResponse:
    authority = get_object_or_404(CertificateAuthority, slug=slug)
    response = HttpResponse(authority.certificate_der, content_type="application/pkix-cert")
    response["Content-Disposition"] = f'inline; filename="{authority.slug}.crt"'
    response["Cache-Control"] = "public, max-age=3600"
    return response


@require_GET
def authority_chain_view(request: HttpRequest, slug: str) -> HttpResponse:
    authority = get_object_or_404(CertificateAuthority, slug=slug)
    pem = "".join(ca.certificate.public_bytes(Encoding.PEM).decode("ascii") for ca in authority.chain())
    response = HttpResponse(pem, content_type="application/pem-certificate-chain")
    response["Content-Disposition"] = f'attachment; filename="{authority.slug}-chain.pem"'
    return response
