"""The SCEP front end's records: RA certificates, SCEP services (NDES instances), transactions.

(Their events are in the connector's event log, ``eventlog.ConnectorEvent``.)
"""

from __future__ import annotations

from functools import cached_property

from cryptography import x509

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from ca.models import CertificateAuthority, CertificateRequest, CertificateTemplate, IssuedCertificate
from core.models import TimestampedModel
from enrollment.choices import Authorization, TransactionStatus
from enrollment.validators import (
    SUBJECT_PATTERN_MAX_LENGTH,
    static_san_types_default,
    validate_static_san_types,
    validate_subject_pattern,
)

__all__ = ["RegistrationAuthority", "ScepService", "ScepTransaction"]


class RegistrationAuthority(TimestampedModel):
    """An RA certificate and key pair (NDES's enrollment-agent + CEP-encryption certificates in one).

    The key is PKCS#8, encrypted with ``CERTPORTAL_RA_KEY_PASSPHRASE``, which only the web tier has.
    It decrypts requests and signs CertReps; it cannot issue anything.
    """

    authority = models.ForeignKey(
        CertificateAuthority, on_delete=models.PROTECT, related_name="registration_authorities"
    )
    name = models.CharField(max_length=128)
    certificate_pem = models.TextField(editable=False)
    encrypted_key_pem = models.TextField(editable=False)
    fingerprint_sha1 = models.CharField(max_length=40, unique=True, editable=False)
    fingerprint_sha256 = models.CharField(max_length=64, unique=True, editable=False)
    not_after = models.DateTimeField(editable=False)

    class Meta:
        ordering = ("-created_at",)
        verbose_name = "registration authority"
        verbose_name_plural = "registration authorities"

    def __str__(self) -> str:
        return f"{self.name} ({self.fingerprint_sha1[:16]})"

    @cached_property
    def certificate(self) -> x509.Certificate:
        return x509.load_pem_x509_certificate(self.certificate_pem.encode("ascii"))


class ScepService(TimestampedModel):
    """One SCEP endpoint (an NDES instance): /scep/<slug>; the default one also answers at /scep and
    /certsrv/mscep/mscep.dll.
    """

    slug = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=128)
    authority = models.ForeignKey(
        CertificateAuthority, on_delete=models.PROTECT, related_name="scep_services"
    )
    registration_authority = models.ForeignKey(
        RegistrationAuthority, on_delete=models.PROTECT, related_name="services"
    )
    next_registration_authority = models.ForeignKey(
        RegistrationAuthority,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="next_for_services",
        help_text="CA rollover: the RA (and CA) served by GetNextCACert",
    )
    general_purpose_template = models.ForeignKey(
        CertificateTemplate,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="NDES GeneralPurposeTemplate: requests asking for signature and encryption, or neither",
    )
    signature_template = models.ForeignKey(
        CertificateTemplate,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="NDES SignatureTemplate: requests asking for digital signature only",
    )
    encryption_template = models.ForeignKey(
        CertificateTemplate,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="NDES EncryptionTemplate: requests asking for key encipherment only",
    )
    allow_legacy_algorithms = models.BooleanField(
        default=False,
        help_text="Accept DES, triple DES and SHA-1 (old clients such as micromdm scepclient 2.1). "
        "Off for production.",
    )
    static_challenge_digest = models.CharField(
        max_length=64,
        blank=True,
        editable=False,
        help_text="HMAC of the static shared challenge (plain NDES / micromdm mode); empty disables it",
    )
    # What a static challenge authorises. It is shared: anyone who knows it can ask for whatever it allows,
    # so what the request may say about itself is limited here (the ESC1 lesson: a "supply in the request"
    # template with Client Authentication, on a CA that AD trusts for logon, is a logon certificate for
    # any account whose name the requester puts in the request).
    static_subject_from_request = models.BooleanField(
        "subject supplied in the request (static challenge)",
        default=True,
        help_text="AD CS 'Supply in the request' for static-challenge requests: the CSR's subject (and its "
        "SANs of the allowed types) go into the certificate, limited by the subject pattern. Off: this "
        "service refuses static-challenge requests, since a static challenge belongs to no device and "
        "nothing else can give the subject; use one-time challenges from a SCEP profile. Risk (ESC1): "
        "with a Client Authentication template on a CA that AD trusts for logon, whoever knows the "
        "challenge chooses whom the certificate names.",
    )
    static_san_types = models.JSONField(
        "SAN types a static challenge may request",
        default=static_san_types_default,
        blank=True,
        validators=[validate_static_san_types],
        help_text="Which subject alternative names a static-challenge request may carry: dns (default), "
        "ip, email, uri; empty allows none. Never a UPN or any otherName, never the KB5014754 SID URI "
        "(tag:microsoft.com,2022-09-14:sid:...) or the SID extension (1.3.6.1.4.1.311.25.2): those map "
        "a certificate to an AD account (ESC1).",
    )
    static_subject_pattern = models.CharField(
        "subject pattern (static challenge)",
        max_length=SUBJECT_PATTERN_MAX_LENGTH,
        blank=True,
        validators=[validate_subject_pattern],
        help_text="A regular expression the whole subject of a static-challenge request must match, "
        "written as RFC 4514 with the last RDN first, e.g. CN=[a-z0-9-]+\\.corp\\.example,O=Corp. "
        "Special characters in values arrive escaped (a comma as \\,), so [^,]+ also matches a\\,O=x: "
        "list the allowed characters instead. Empty: any subject. At most 200 characters, no "
        "backreferences, no nested repetition, at most 3 repetitions.",
    )
    accept_one_time_challenges = models.BooleanField(
        default=True, help_text="Accept the per-device one-time challenges that profile check-in issues"
    )
    allow_renewal = models.BooleanField(
        default=True, help_text="Accept RenewalReq signed by a current certificate"
    )
    renewal_window_days = models.PositiveIntegerField(
        default=0, help_text="Renewal only within this many days of expiry; 0 = any time before expiry"
    )
    issue_wait_seconds = models.FloatField(
        null=True,
        blank=True,
        validators=[MinValueValidator(0), MaxValueValidator(60)],
        help_text="Wait this long for the CA before answering PENDING; empty uses CERTPORTAL_SCEP_ISSUE_WAIT",
    )
    is_default = models.BooleanField(default=False)
    enabled = models.BooleanField(default=True)

    class Meta:
        ordering = ("slug",)
        verbose_name = "SCEP service"
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"],
                condition=models.Q(is_default=True),
                name="enrollment_one_default_service",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class ScepTransaction(TimestampedModel):
    """The state of one SCEP transaction (PKCSReq or RenewalReq, then CertPolls), keyed by the client's
    transactionID and the request it carried, so that a retried or polled request finds its result.

    It never holds the CSR or the message (their hashes only; an accepted request's CSR is in its
    ``CertificateRequest``). A refused one keeps a bounded record and is deleted after the retention.
    """

    service = models.ForeignKey(ScepService, on_delete=models.PROTECT, related_name="transactions")
    transaction_id = models.CharField(max_length=128, db_index=True)
    message_type = models.PositiveSmallIntegerField()
    signer_public_key_sha256 = models.CharField(max_length=64)
    csr_sha256 = models.CharField(max_length=64)
    request_key = models.CharField(
        max_length=64,
        editable=False,
        help_text="What makes a request the same request: message type, CSR and (renewal) the signer",
    )
    subject = models.CharField(max_length=1024, blank=True, help_text="Subject requested in the CSR")
    status = models.CharField(max_length=16, choices=TransactionStatus.choices, db_index=True)
    fail_info = models.PositiveSmallIntegerField(null=True, blank=True)
    fail_info_text = models.CharField(max_length=512, blank=True)
    authorization = models.CharField(
        max_length=24,
        choices=Authorization.choices,
        blank=True,
        help_text="What authorised the request (never the challenge itself); empty for a refused request",
    )
    challenge = models.ForeignKey(
        "profiles.DeviceChallenge",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="scep_transactions",
        help_text="The one-time challenge that authorised it",
    )
    certificate_request = models.ForeignKey(
        CertificateRequest, on_delete=models.PROTECT, null=True, blank=True, related_name="scep_transactions"
    )
    certificate = models.ForeignKey(
        IssuedCertificate, on_delete=models.PROTECT, null=True, blank=True, related_name="scep_transactions"
    )
    renewed_certificate = models.ForeignKey(
        IssuedCertificate,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="renewals",
        help_text="RenewalReq: the certificate that signed the request",
    )
    client_address = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at",)
        verbose_name = "SCEP transaction"
        constraints = [
            models.UniqueConstraint(
                fields=["service", "transaction_id", "request_key"],
                name="enrollment_transaction_unique_request",
            ),
        ]
        indexes = [
            # The retention job's walk (refused and failed transactions, oldest first).
            models.Index(fields=["status", "updated_at"], name="enrollment_tx_status_updated"),
        ]

    def __str__(self) -> str:
        return f"{self.transaction_id} ({self.get_status_display()})"
