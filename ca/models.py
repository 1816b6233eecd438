"""The certificate authority's records: CAs, certificate templates, requests, certificates, CRLs."""

from __future__ import annotations

import datetime as dt
from functools import cached_property

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.utils import timezone

from ca.choices import (
    CertificateRequestStatus,
    CertificateStatus,
    KeyType,
    RevocationReason,
    SignatureHash,
    TemplatePurpose,
)
from ca.constants import DEFAULT_EKUS
from ca.crypto.names import general_name_from_json, name_from_json
from ca.querysets import CertificateQuerySet, CertificateRequestQuerySet
from core.models import TimestampedModel

__all__ = [
    "CertificateAuthority",
    "CertificateRequest",
    "CertificateRevocationList",
    "CertificateTemplate",
    "IssuedCertificate",
]

_OID_RE = RegexValidator(
    r"^[0-2](\.(0|[1-9][0-9]*))+$", "Enter a dotted object identifier such as 1.3.6.1.5.5.7.3.2."
)


def _default_ekus() -> list[str]:
    return list(DEFAULT_EKUS)


def _default_hashes() -> list[str]:
    return [SignatureHash.SHA256, SignatureHash.SHA384, SignatureHash.SHA512]


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


class CertificateTemplate(TimestampedModel):
    """An AD CS version 2 certificate template: what a certificate issued under it may contain."""

    name = models.SlugField(
        max_length=64,
        unique=True,
        allow_unicode=False,
        help_text="Template name (not the display name), as NDES's registry and scripts refer to it",
    )
    display_name = models.CharField(max_length=128)
    purpose = models.CharField(
        max_length=32, choices=TemplatePurpose.choices, default=TemplatePurpose.SIGNATURE_AND_ENCRYPTION
    )
    validity_days = models.PositiveIntegerField(
        default=365,
        validators=[MinValueValidator(1), MaxValueValidator(3650 * 2)],
        help_text="Validity period of issued certificates",
    )
    allow_requester_validity = models.BooleanField(
        default=False,
        help_text="The requester may ask for a shorter validity (AD CS EDITF_ATTRIBUTEENDDATE)",
    )
    subject_supplied_in_request = models.BooleanField(
        default=True,
        help_text="Subject name: supply in the request (security is enforced by the policy module)",
    )
    digital_signature = models.BooleanField(default=True)
    key_encipherment = models.BooleanField(default=True)
    non_repudiation = models.BooleanField(
        default=False,
        help_text="'Signature is proof of origin'; leave off for iOS and macOS templates",
    )
    application_policies = models.JSONField(
        default=_default_ekus,
        blank=True,
        help_text="Extended key usage OIDs (Client Authentication by default); any OID is allowed",
    )
    min_rsa_key_size = models.PositiveIntegerField(
        default=2048, validators=[MinValueValidator(2048), MaxValueValidator(8192)]
    )
    min_ec_key_size = models.PositiveIntegerField(
        default=256, validators=[MinValueValidator(256), MaxValueValidator(521)]
    )
    allowed_signature_hashes = models.JSONField(
        default=_default_hashes, help_text="Hashes a request may be signed with: sha256, sha384, sha512"
    )
    requires_approval = models.BooleanField(
        default=False, help_text="Issuance requirements: CA certificate manager approval"
    )
    enabled = models.BooleanField(default=True)

    class Meta:
        ordering = ("name",)

    def __str__(self) -> str:
        return self.display_name or self.name

    def clean(self) -> None:
        errors: dict[str, list[str]] = {}
        if not isinstance(self.application_policies, list) or not all(
            isinstance(oid, str) for oid in self.application_policies
        ):
            errors.setdefault("application_policies", []).append("Enter a list of OIDs.")
        else:
            for oid in self.application_policies:
                try:
                    _OID_RE(oid)
                except ValidationError:
                    errors.setdefault("application_policies", []).append(f"{oid!r} is not a dotted OID.")
            if len(set(self.application_policies)) != len(self.application_policies):
                errors.setdefault("application_policies", []).append("Each OID may appear once.")
        hashes = self.allowed_signature_hashes
        if not isinstance(hashes, list) or not hashes or not set(hashes) <= set(SignatureHash.values):
            errors.setdefault("allowed_signature_hashes", []).append(
                f"Choose one or more of {', '.join(SignatureHash.values)}."
            )
        if not (self.digital_signature or self.key_encipherment):
            errors.setdefault("digital_signature", []).append(
                "Choose digital signature, key encipherment, or both."
            )
        if self.purpose == TemplatePurpose.SIGNATURE and not self.digital_signature:
            errors.setdefault("digital_signature", []).append("A signature template needs digital signature.")
        if self.purpose == TemplatePurpose.ENCRYPTION and not self.key_encipherment:
            errors.setdefault("key_encipherment", []).append("An encryption template needs key encipherment.")
        if errors:
            raise ValidationError(errors)


class CertificateRequest(TimestampedModel):
    """A request in the CA's queue: what policy decided to issue, waiting for (or done by) the CA worker."""

    authority = models.ForeignKey(CertificateAuthority, on_delete=models.PROTECT, related_name="requests")
    template = models.ForeignKey(CertificateTemplate, on_delete=models.PROTECT, related_name="requests")
    csr_der = models.BinaryField(editable=False)
    public_key_sha256 = models.CharField(max_length=64, db_index=True, editable=False)
    subject_json = models.JSONField(editable=False, help_text="Subject chosen by policy (JSON RDNs)")
    sans_json = models.JSONField(default=list, editable=False, help_text="SANs chosen by policy")
    subject = models.CharField(max_length=1024, editable=False, help_text="Readable subject (RFC 4514)")
    validity_days = models.PositiveIntegerField(null=True, blank=True, help_text="Requested validity, if any")
    sid = models.CharField(max_length=184, blank=True, help_text="SID for the KB5014754 mapping extension")
    requester = models.CharField(max_length=255, help_text="Who asked: scep:<endpoint>, api:<user>, ...")
    status = models.CharField(max_length=20, choices=CertificateRequestStatus.choices, db_index=True)
    failure_reason = models.TextField(blank=True)
    task_id = models.CharField(max_length=64, blank=True, editable=False)
    decided_by = models.CharField(max_length=255, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    objects = CertificateRequestQuerySet.as_manager()

    class Meta:
        ordering = ("-created_at",)
        permissions = [("approve_certificaterequest", "Can approve or deny certificate requests")]

    def __str__(self) -> str:
        return f"request {self.pk} ({self.subject or 'no subject'}, {self.status})"

    @property
    def subject_name(self) -> x509.Name:
        return name_from_json(self.subject_json)

    @property
    def subject_alternative_names(self) -> list[x509.GeneralName]:
        return [general_name_from_json(item) for item in self.sans_json]

    @property
    def is_terminal(self) -> bool:
        return self.status in CertificateRequestStatus.terminal()


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
