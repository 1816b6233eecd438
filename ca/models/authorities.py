"""Certificate authorities: root and subordinate CAs whose keys are reached only through a key backend."""

from __future__ import annotations

import datetime as dt
from functools import cached_property
from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from ca.choices import KeyType, SignatureHash
from core.models import TimestampedModel

if TYPE_CHECKING:
    from ca.models.templates import CertificateTemplate

__all__ = ["CertificateAuthority"]


class CertificateAuthority(TimestampedModel):
    """A root or subordinate CA. Its private key is reached only through ``key_backend``."""

    name = models.CharField(max_length=128, unique=True)
    slug = models.SlugField(
        max_length=64, unique=True, help_text="Used in URLs: /scep/<slug>, /ca/<slug>.crl"
    )
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
        help_text="Issuer of this CA's certificate; empty for a root CA.",
    )
    certificate_pem = models.TextField(editable=False)
    serial = models.CharField(max_length=42, editable=False)
    subject = models.CharField(max_length=1024, editable=False)
    subject_sha256 = models.CharField(
        max_length=64,
        db_index=True,
        editable=False,
        help_text="SHA-256 of the canonical subject: how a SCEP message's issuer name finds its CA",
    )
    not_before = models.DateTimeField(editable=False)
    not_after = models.DateTimeField(editable=False)
    fingerprint_sha1 = models.CharField(max_length=40, editable=False, unique=True)
    fingerprint_sha256 = models.CharField(max_length=64, editable=False, unique=True)
    key_type = models.CharField(max_length=8, choices=KeyType.choices, editable=False)
    key_size = models.PositiveIntegerField(editable=False, help_text="RSA modulus or curve size in bits")
    key_backend = models.CharField(max_length=64, default="default", editable=False)
    key_reference = models.JSONField(default=dict, editable=False)
    signature_hash = models.CharField(
        max_length=8, choices=SignatureHash.choices, default=SignatureHash.SHA256
    )
    crl_url = models.URLField(
        max_length=512, blank=True, help_text="CRL distribution point put in issued certificates"
    )
    issuer_url = models.URLField(
        max_length=512, blank=True, help_text="AIA caIssuers URL put in issued certificates"
    )
    ocsp_url = models.URLField(
        max_length=512, blank=True, help_text="AIA OCSP URL put in issued certificates"
    )
    crl_validity_hours = models.PositiveIntegerField(
        default=168,
        validators=[MinValueValidator(1), MaxValueValidator(24 * 366)],
        help_text="nextUpdate of each CRL, in hours after thisUpdate",
    )
    enabled = models.BooleanField(default=True, help_text="A disabled CA issues nothing")
    published_templates: models.ManyToManyField[CertificateTemplate, models.Model] = models.ManyToManyField(
        "CertificateTemplate",
        blank=True,
        related_name="authorities",
        help_text="Certificate templates this CA issues (AD CS: Certificate Templates to Issue)",
    )

    class Meta:
        ordering = ("name",)
        verbose_name = "certificate authority"
        verbose_name_plural = "certificate authorities"
        #: Signing a CRL is a CA operation of its own (AD CS: "Issue and Manage Certificates" may publish
        #: CRLs; reading a CA does not).
        permissions = (("publish_crl", "Publish a CRL"),)

    def __str__(self) -> str:
        return self.name

    @property
    def is_root(self) -> bool:
        return self.parent_id is None

    @cached_property
    def certificate(self) -> x509.Certificate:
        return x509.load_pem_x509_certificate(self.certificate_pem.encode("ascii"))

    @property
    def certificate_der(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.DER)

    def chain(self) -> list[CertificateAuthority]:
        """This CA and its issuers up to the root, leaf first."""
        chain: list[CertificateAuthority] = [self]
        seen = {self.pk}
        node = self
        while node.parent is not None and node.parent_id not in seen:
            node = node.parent
            seen.add(node.pk)
            chain.append(node)
        return chain

    def root(self) -> CertificateAuthority:
        return self.chain()[-1]

    def remaining_validity(self, now: dt.datetime | None = None) -> dt.timedelta:
        return self.not_after - (now or timezone.now())
