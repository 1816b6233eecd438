"""Reads of the certificate authority that carry policy or span relations."""

from __future__ import annotations

from ca.models import CertificateAuthority, CertificateRevocationList, IssuedCertificate

__all__ = ["certificate_find_by_public_key", "crl_get_latest"]


def crl_get_latest(*, authority: CertificateAuthority) -> CertificateRevocationList | None:
    return authority.crls.order_by("-number").first()


def certificate_find_by_public_key(*, public_key_sha256: str) -> list[IssuedCertificate]:
    """Certificates issued for a key, newest first (renewal looks up the signer this way)."""
    return list(
        IssuedCertificate.objects.filter(public_key_sha256=public_key_sha256)
        .select_related("authority", "template")
        .order_by("-not_before")
    )
