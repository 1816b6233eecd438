"""Public, unauthenticated downloads a relying party needs: CA certificates and CRLs (CDP and AIA).

Each is served from the database and kept as a file (``ca.published_files``); while the database is down
the kept copy is served instead (with ``X-Certportal-Copy: kept``), and only without one is the answer a
503 with Retry-After (``portal.errors``).
"""

from __future__ import annotations

from collections.abc import Callable

from cryptography.hazmat.primitives.serialization import Encoding

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_GET

from ca.models import CertificateAuthority
from ca.published_files import published_copy_keep, published_copy_read
from ca.selectors import crl_get_latest
from core.outages import dependency_outage

__all__ = ["authority_certificate_view", "authority_chain_view", "crl_view"]


def _served(name: str, body: Callable[[], bytes]) -> tuple[bytes, bool]:
    """``body()`` from the database, kept as ``name``; the kept copy when the database is down.

    Returns the bytes and whether they are the kept copy. Http404 passes through; an outage with no copy is
    raised again (answered 503).
    """
    try:
        content = body()
    except Exception as exc:
        if isinstance(exc, Http404) or dependency_outage(exc) is None:
            raise
        kept = published_copy_read(name)
        if kept is None:
            raise
        return kept, True
    published_copy_keep(name, content)
    return content, False


def _response(
    content: bytes, kept: bool, content_type: str, disposition: str, cache: str | None
) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = disposition
    if kept:
        response["X-Certportal-Copy"] = "kept"
        response["Cache-Control"] = "public, max-age=60"  # not for long: the database is back soon
    elif cache:
        response["Cache-Control"] = cache
    return response


@require_GET
def crl_view(request: HttpRequest, slug: str) -> HttpResponse:
    def latest() -> bytes:
        authority = get_object_or_404(CertificateAuthority, slug=slug)
        crl = crl_get_latest(authority=authority)
        if crl is None:
            raise Http404("no CRL has been published for this CA yet")
        return bytes(crl.der)

    content, kept = _served(f"crl/{slug}.crl", latest)
    return _response(
        content, kept, "application/pkix-crl", f'inline; filename="{slug}.crl"', "public, max-age=300"
    )


@require_GET
def authority_certificate_view(request: HttpRequest, slug: str) -> HttpResponse:
    def certificate() -> bytes:
        return bytes(get_object_or_404(CertificateAuthority, slug=slug).certificate_der)

    content, kept = _served(f"ca/{slug}.crt", certificate)
    return _response(
        content, kept, "application/pkix-cert", f'inline; filename="{slug}.crt"', "public, max-age=3600"
    )


@require_GET
def authority_chain_view(request: HttpRequest, slug: str) -> HttpResponse:
    def chain() -> bytes:
        authority = get_object_or_404(CertificateAuthority, slug=slug)
        pem = "".join(ca.certificate.public_bytes(Encoding.PEM).decode("ascii") for ca in authority.chain())
        return pem.encode("ascii")

    content, kept = _served(f"ca/{slug}-chain.pem", chain)
    return _response(
        content, kept, "application/pem-certificate-chain", f'attachment; filename="{slug}-chain.pem"', None
    )
