"""Chainable filters of the CA's models."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Self

from django.db import models
from django.utils import timezone

from ca.choices import CertificateRequestStatus, CertificateStatus

if TYPE_CHECKING:
    from ca.models import CertificateRequest, IssuedCertificate  # noqa: F401

__all__ = ["CertificateQuerySet", "CertificateRequestQuerySet"]


class CertificateQuerySet(models.QuerySet["IssuedCertificate"]):
    def valid(self, now: dt.datetime | None = None) -> Self:
        """Issued, not revoked, not expired."""
        return self.filter(revoked_at__isnull=True, not_after__gt=now or timezone.now())

    def expired(self, now: dt.datetime | None = None) -> Self:
        return self.filter(revoked_at__isnull=True, not_after__lte=now or timezone.now())

    def revoked(self) -> Self:
        return self.filter(revoked_at__isnull=False)

    def with_status(self, status: str) -> Self:
        if status == CertificateStatus.REVOKED:
            return self.revoked()
        if status == CertificateStatus.EXPIRED:
            return self.expired()
        if status == CertificateStatus.ISSUED:
            return self.valid()
        return self.none()

    def for_crl(self, *, authority_id: int, now: dt.datetime | None = None) -> Self:
        """Revoked certificates still within their validity (RFC 5280 lets expired ones drop off)."""
        return self.filter(
            authority_id=authority_id, revoked_at__isnull=False, not_after__gt=now or timezone.now()
        )


class CertificateRequestQuerySet(models.QuerySet["CertificateRequest"]):
    def pending(self) -> Self:
        return self.filter(
            status__in=[CertificateRequestStatus.PENDING_APPROVAL, CertificateRequestStatus.QUEUED]
        )
