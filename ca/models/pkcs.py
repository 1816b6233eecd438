"""Requests for a server-generated key pair and its certificate, delivered as a PKCS#12.

The CA worker generates the key, issues the certificate through the ordinary request queue (a
``CertificateRequest`` whose CSR it made with that key) and keeps only the encrypted PKCS#12 until it is
delivered: the key is never stored in clear, and is deleted at delivery (``pkcs12_der`` emptied).
"""

from __future__ import annotations

from cryptography import x509

from django.db import models

from ca.choices import PkcsRequestStatus
from ca.crypto.names import general_name_from_json, name_from_json
from ca.models.authorities import CertificateAuthority
from ca.models.certificates import IssuedCertificate
from ca.models.requests import CertificateRequest
from ca.models.templates import CertificateTemplate
from core.models import TimestampedModel

__all__ = ["PkcsRequest"]


class PkcsRequest(TimestampedModel):
    """What the requester asked for (names, key, template), and the certificate and PKCS#12 the CA made."""

    authority = models.ForeignKey(
        CertificateAuthority, on_delete=models.PROTECT, related_name="pkcs_requests"
    )
    template = models.ForeignKey(CertificateTemplate, on_delete=models.PROTECT, related_name="pkcs_requests")
    key_spec = models.CharField(max_length=16, help_text="RSA-2048, RSA-3072, RSA-4096, EC-P256 or EC-P384")
    subject_json = models.JSONField(editable=False, help_text="Subject chosen by policy (JSON RDNs)")
    sans_json = models.JSONField(default=list, editable=False, help_text="SANs chosen by policy")
    subject = models.CharField(max_length=1024, editable=False, help_text="Readable subject (RFC 4514)")
    validity_days = models.PositiveIntegerField(null=True, blank=True)
    sid = models.CharField(max_length=184, blank=True)
    key_usage = models.JSONField(null=True, blank=True, editable=False)
    extended_key_usages = models.JSONField(null=True, blank=True, editable=False)
    requester = models.CharField(max_length=255)
    #: Who holds it, as the event log names them (device and user ids and names): given by the requester.
    holder = models.JSONField(default=dict, blank=True, editable=False)
    status = models.CharField(
        max_length=16,
        choices=PkcsRequestStatus.choices,
        default=PkcsRequestStatus.QUEUED,
        db_index=True,
    )
    failure_reason = models.TextField(blank=True)
    task_id = models.CharField(max_length=64, blank=True, editable=False)
    #: Random, per request: with ``SECRET_KEY`` it gives the delivery's PKCS#12 password (never stored).
    password_salt = models.CharField(max_length=64, editable=False)
    certificate_request = models.OneToOneField(
        CertificateRequest,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="pkcs_request",
    )
    certificate = models.OneToOneField(
        IssuedCertificate,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="pkcs_request",
    )
    #: The encrypted PKCS#12 until delivery; emptied then.
    pkcs12_der = models.BinaryField(null=True, blank=True, editable=False)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at",)
        verbose_name = "PKCS certificate request"

    def __str__(self) -> str:
        return f"PKCS request {self.pk} ({self.subject or 'no subject'}, {self.status})"

    @property
    def subject_name(self) -> x509.Name:
        return name_from_json(self.subject_json)

    @property
    def subject_alternative_names(self) -> list[x509.GeneralName]:
        return [general_name_from_json(item) for item in self.sans_json]
