"""Moving a CA's public URLs (CRL distribution point, AIA caIssuers and OCSP) to another base URL.

What a CA puts in the certificates it issues from now on; what it issued before keeps the URLs it was
issued with, and its own certificate (signed by its parent, or by itself) keeps its issuer's. Nothing here
needs a CA key.
"""

from __future__ import annotations

from django.db import transaction

from ca.models import CertificateAuthority
from ca.services.authorities import authority_urls
from core.services import model_update

__all__ = ["authority_urls_move"]


@transaction.atomic
def authority_urls_move(
    *, authority: CertificateAuthority, base_url: str | None = None
) -> dict[str, tuple[str, str]]:
    """Point ``authority``'s CRL, caIssuers and OCSP URLs at ``base_url`` (default ``CERTPORTAL_BASE_URL``).

    Returns the URLs that changed: field name -> (before, after); empty when they were already there.
    """
    urls = authority_urls(authority.slug, base_url=base_url)
    before = {name: getattr(authority, name) for name in urls}
    update = model_update(instance=authority, data=urls, fields=tuple(urls))
    return {name: (before[name], urls[name]) for name in update.changed}
