"""Revocation and CRLs. ``certificate_revoke`` and ``crl_generate`` run on the CA worker (CA key)."""

from __future__ import annotations

import datetime as dt
import logging

from cryptography.hazmat.primitives.serialization import Encoding

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from ca.choices import RevocationReason
from ca.crypto.crl import RevokedEntry, build_crl
from ca.key_backends import key_backends
from ca.models import CertificateAuthority, CertificateRevocationList, IssuedCertificate

__all__ = ["certificate_revoke", "crl_generate", "crl_refresh"]

logger = logging.getLogger(__name__)


def certificate_revoke(
    *, certificate_id: int, reason: str, revoked_at: dt.datetime | None = None
) -> IssuedCertificate:
    """Mark the certificate revoked and publish a new CRL. Idempotent: revoking twice keeps the first."""
    revocation_reason = RevocationReason(reason)
    with transaction.atomic():
        certificate = (
            IssuedCertificate.objects.select_for_update().select_related("authority").get(pk=certificate_id)
        )
        if certificate.revoked_at is not None:
            return certificate
        certificate.revoked_at = revoked_at or timezone.now()
        certificate.revocation_reason = revocation_reason.value
        certificate.save(update_fields=["revoked_at", "revocation_reason", "updated_at"])
    logger.info("revoked certificate %s of %s (%s)", certificate.serial, certificate.authority, reason)
    crl_generate(authority=certificate.authority)
    return certificate


def crl_generate(*, authority: CertificateAuthority) -> CertificateRevocationList:
    """Sign and store a full CRL with the next CRL number. Safe to run twice (numbers only grow)."""
    key = key_backends[authority.key_backend].load_private_key(authority.key_reference)
    with transaction.atomic():
        # Lock the CA row so that two workers never use the same CRL number.
        authority = CertificateAuthority.objects.select_for_update().get(pk=authority.pk)
        number = (authority.crls.aggregate(n=Max("number"))["n"] or 0) + 1
        now = timezone.now()
        next_update = min(now + dt.timedelta(hours=authority.crl_validity_hours), authority.not_after)
        if next_update <= now:
            next_update = now + dt.timedelta(hours=1)
        entries = [
            RevokedEntry(
                serial=c.serial_int,
                revoked_at=c.revoked_at,
                reason=RevocationReason(c.revocation_reason).reason_flag,
            )
            for c in IssuedCertificate.objects.for_crl(authority_id=authority.pk, now=now).order_by(
                "revoked_at"
            )
            if c.revoked_at is not None
        ]
        crl = build_crl(
            issuer_certificate=authority.certificate,
            issuer_key=key,
            number=number,
            this_update=now,
            next_update=next_update,
            revoked=entries,
            signature_hash=authority.signature_hash,
        )
        record = CertificateRevocationList.objects.create(
            authority=authority,
            number=number,
            this_update=now,
            next_update=next_update,
            der=crl.public_bytes(Encoding.DER),
            revoked_count=len(entries),
        )
    logger.info("published CRL #%s of %s with %s entries", number, authority, len(entries))
    return record


def crl_refresh(*, now: dt.datetime | None = None) -> list[CertificateRevocationList]:
    """Publish a new CRL for every enabled CA whose latest one is missing or past half its lifetime."""
    now = now or timezone.now()
    published = []
    for authority in CertificateAuthority.objects.filter(enabled=True, not_after__gt=now):
        latest = authority.crls.order_by("-number").first()
        if latest is None or now >= latest.this_update + (latest.next_update - latest.this_update) / 2:
            published.append(crl_generate(authority=authority))
    return published
