"""Issued certificates and the CRLs that list the revoked ones."""

from __future__ import annotations

from functools import cached_property

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from django.db import models
from django.db.models.functions import Upper
from django.utils import timezone

from ca.choices import CertificateStatus, RevocationReason
from ca.models.authorities import CertificateAuthority
from ca.models.requests import CertificateRequest
from ca.models.templates import CertificateTemplate
from ca.querysets import CertificateQuerySet
from core.models import TimestampedModel

__all__ = ["CertificateRevocationList", "IssuedCertificate"]


class IssuedCertificate(TimestampedModel):
    authority = models.ForeignKey(CertificateAuthority, on_delete=models.PROTECT, related_name="certificates")
    template = models.ForeignKey(CertificateTemplate, on_delete=models.PROTECT, related_name="certificates")
    request = models.OneToOneField(
        CertificateRequest, on_delete=models.PROTECT, related_name="certificate", null=True, blank=True
    )
    serial = models.CharField(max_length=42, help_text="Hex, upper case, as Windows shows it")
    subject = models.CharField(max_length=1024, db_index=True)
    sans = models.JSONField(default=list, help_text="Readable SANs, e.g. DNS:host.example.com, UPN:user@corp")
    not_before = models.DateTimeField()
    not_after = models.DateTimeField(db_index=True)
    fingerprint_sha1 = models.CharField(
        max_length=40, unique=True, help_text="Thumbprint, as Intune shows it"
    )
    fingerprint_sha256 = models.CharField(max_length=64, unique=True)
    public_key_sha256 = models.CharField(max_length=64, db_index=True)
    der = models.BinaryField()
    revoked_at = models.DateTimeField(null=True, blank=True, db_index=True)
    revocation_reason = models.CharField(max_length=32, choices=RevocationReason.choices, blank=True)

    objects = CertificateQuerySet.as_manager()

    class Meta:
        ordering = ("-not_before",)
        permissions = [("revoke_issuedcertificate", "Can revoke certificates")]
        # For the lists at a million rows (bench/scale, docs/benchmarks-admin.md): the default order (the
        # admin adds the primary key), the count of valid certificates from the index alone, the API's and
        # the admin's case-insensitive serial and thumbprint lookups, and the dashboard's issued per day.
        indexes = [
            models.Index(fields=["not_before", "id"], name="ca_cert_not_before_id"),
            models.Index(
                fields=["not_after", "authority"],
                condition=models.Q(revoked_at__isnull=True),
                name="ca_cert_unrevoked_not_after",
            ),
            models.Index(Upper("serial"), name="ca_cert_serial_upper"),
            models.Index(Upper("fingerprint_sha1"), name="ca_cert_sha1_upper"),
            models.Index(fields=["created_at"], name="ca_cert_created_at"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["authority", "serial"], name="ca_certificate_serial_unique_per_ca"
            ),
            models.CheckConstraint(
                condition=models.Q(revoked_at__isnull=True, revocation_reason="")
                | models.Q(revoked_at__isnull=False) & ~models.Q(revocation_reason=""),
                name="ca_certificate_revocation_complete",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.subject or self.serial} ({self.serial})"

    @property
    def status(self) -> str:
        if self.revoked_at is not None:
            return CertificateStatus.REVOKED
        if self.not_after <= timezone.now():
            return CertificateStatus.EXPIRED
        return CertificateStatus.ISSUED

    @cached_property
    def certificate(self) -> x509.Certificate:
        return x509.load_der_x509_certificate(bytes(self.der))

    @property
    def pem(self) -> str:
        return self.certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")

    @property
    def serial_int(self) -> int:
        return int(self.serial, 16)


class CertificateRevocationList(models.Model):
    authority = models.ForeignKey(CertificateAuthority, on_delete=models.CASCADE, related_name="crls")
    number = models.PositiveBigIntegerField()
    this_update = models.DateTimeField()
    next_update = models.DateTimeField()
    der = models.BinaryField()
    revoked_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ("-number",)
        get_latest_by = "number"
        verbose_name = "certificate revocation list"
        constraints = [
            models.UniqueConstraint(fields=["authority", "number"], name="ca_crl_number_unique_per_ca"),
        ]

    def __str__(self) -> str:
        return f"CRL #{self.number} of {self.authority}"

    @property
    def is_current(self) -> bool:
        return self.next_update > timezone.now()
