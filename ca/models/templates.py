"""AD CS version 2 certificate templates: what a certificate issued under one may contain."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models

from ca.choices import SignatureHash, TemplatePurpose
from ca.constants import DEFAULT_EKUS
from core.models import TimestampedModel

__all__ = ["CertificateTemplate"]

_OID_RE = RegexValidator(
    r"^[0-2](\.(0|[1-9][0-9]*))+$", "Enter a dotted object identifier such as 1.3.6.1.5.5.7.3.2."
)


def _default_ekus() -> list[str]:
    return list(DEFAULT_EKUS)


def _default_hashes() -> list[str]:
    return [SignatureHash.SHA256, SignatureHash.SHA384, SignatureHash.SHA512]


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
    ocsp_no_check = models.BooleanField(
        default=False,
        help_text="Add id-pkix-ocsp-nocheck (RFC 6960 4.2.2.2.1): for delegated OCSP responder certificates",
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
