"""Delegated OCSP responders (RFC 6960 4.2.2.2): a short-lived signing certificate per CA, and its key."""

from __future__ import annotations

import datetime as dt

from django.db import models
from django.utils import timezone

from ca.models.authorities import CertificateAuthority
from ca.models.certificates import IssuedCertificate
from core.models import TimestampedModel

__all__ = ["OcspResponder"]


class OcspResponder(TimestampedModel):
    """A certificate the CA issued for id-kp-OCSPSigning (with id-pkix-ocsp-nocheck), and its key.

    The key is generated on the RA side and kept as PKCS#8 encrypted with
    ``CERTPORTAL_OCSP_KEY_PASSPHRASE``: the web tier signs OCSP responses with it and never needs a CA key.
    The newest valid responder of a CA signs; a renewed one takes over and the old one simply expires.
    """

    authority = models.ForeignKey(
        CertificateAuthority, on_delete=models.PROTECT, related_name="ocsp_responders"
    )
    certificate = models.OneToOneField(
        IssuedCertificate, on_delete=models.PROTECT, related_name="ocsp_responder", editable=False
    )
    encrypted_key_pem = models.TextField(editable=False)
    not_before = models.DateTimeField(editable=False)
    not_after = models.DateTimeField(editable=False, db_index=True)

    class Meta:
        ordering = ("-not_before",)
        verbose_name = "OCSP responder"
        indexes = [models.Index(fields=["authority", "-not_before"], name="ca_ocsp_responder_current")]

    def __str__(self) -> str:
        return f"OCSP responder of {self.authority} until {self.not_after:%Y-%m-%d %H:%M}Z"

    @property
    def lifetime(self) -> dt.timedelta:
        return self.not_after - self.not_before

    def needs_renewal(self, now: dt.datetime | None = None) -> bool:
        """Less than half of its lifetime left (the same rule as the CRL refresh)."""
        return self.not_after - (now or timezone.now()) < self.lifetime / 2
