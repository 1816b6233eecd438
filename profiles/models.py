"""Trusted-root and SCEP certificate profiles, their assignments, device challenges and certificate states."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from functools import cached_property
from typing import Any, Protocol

from cryptography import x509

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from ca.models import CertificateAuthority, CertificateTemplate, IssuedCertificate
from core.models import TimestampedModel
from directory.models import Device, DirectoryUser, Group, Platform
from profiles.choices import (
    AssignmentIntent,
    AssignmentTarget,
    CertificateDelivery,
    CertificateState,
    DeviceCertificateStatus,
    KeyAlgorithm,
    RevokeStatus,
)
from profiles.constants import DEVICE_CERTIFICATE_PLATFORM_NAMES
from profiles.naming.subject import SubjectNameFormat
from profiles.naming.variables import CertificateType
from profiles.options import DestinationStore, KeyStorageProvider, ValidityScale
from profiles.validation import scep_profile_errors

__all__ = [
    "DeviceCertificate",
    "DeviceCertificateState",
    "DeviceChallenge",
    "DevicePkcsRequest",
    "PkcsProfile",
    "ProfileAssignment",
    "ResourceProfile",
    "ScepProfile",
    "TrustedRootProfile",
]

_DAYS_PER_SCALE_BY_VALUE: dict[str, int] = {
    ValidityScale.DAYS.value: 1,
    ValidityScale.MONTHS.value: 30,
    ValidityScale.YEARS.value: 365,
}


def _default_ekus() -> list[dict[str, str]]:
    return [{"name": "Client Authentication", "oid": "1.3.6.1.5.5.7.3.2"}]


class _Labelled(Protocol):
    @property
    def value(self) -> str: ...

    @property
    def label(self) -> str: ...


def _choices(members: Iterable[_Labelled]) -> list[tuple[str, str]]:
    """A model field's choices from one of the pure enums (values and labels)."""
    return [(member.value, member.label) for member in members]


class TrustedRootProfile(TimestampedModel):
    """A trusted certificate profile: a root (or intermediate) CA certificate for devices of a platform."""

    name = models.CharField(max_length=255, unique=True)
    description = models.TextField(blank=True)
    platform = models.CharField(max_length=32, choices=Platform.choices, db_index=True)
    authority = models.ForeignKey(
        CertificateAuthority,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="trusted_root_profiles",
        help_text="One of our CAs; or leave empty and upload the certificate",
    )
    certificate_der = models.BinaryField(help_text="The CA certificate (.cer, DER)")
    certificate_file_name = models.CharField(max_length=255, blank=True)
    destination_store = models.CharField(
        max_length=40, choices=_choices(DestinationStore), blank=True, help_text="Windows only"
    )
    thumbprint_sha1 = models.CharField(max_length=40, editable=False)
    subject = models.CharField(max_length=1024, editable=False)
    not_after = models.DateTimeField(editable=False)
    version = models.PositiveIntegerField(default=1, editable=False)

    class Meta:
        ordering = ("name",)
        verbose_name = "trusted certificate profile"
        constraints = [
            models.UniqueConstraint(
                fields=["platform", "thumbprint_sha1"], name="profiles_one_root_per_platform"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_platform_display()})"

    @cached_property
    def certificate(self) -> x509.Certificate:
        return x509.load_der_x509_certificate(bytes(self.certificate_der))

    def clean(self) -> None:
        """Checks of this row only. The fields that follow from the certificate (thumbprint, subject,
        expiry) and the defaults of file name and destination store are set by the services.
        """
        try:
            certificate = x509.load_der_x509_certificate(bytes(self.certificate_der or b""))
        except ValueError as exc:
            raise ValidationError({"certificate_der": f"not a DER X.509 certificate: {exc}"}) from exc
        try:
            constraints = certificate.extensions.get_extension_for_class(x509.BasicConstraints).value
        except x509.ExtensionNotFound:
            constraints = None
        if constraints is None or not constraints.ca:
            raise ValidationError(
                {"certificate_der": "a trusted certificate profile carries a CA certificate (CA:TRUE)"}
            )
        if self.destination_store and self.platform not in Platform.windows():
            raise ValidationError({"destination_store": "the destination store applies to Windows only"})


class ScepProfile(TimestampedModel):
    """A SCEP certificate profile with every setting of Intune's, plus the CA and template that issue it."""

    name = models.CharField(max_length=255, unique=True)
    description = models.TextField(blank=True)
    platform = models.CharField(max_length=32, choices=Platform.choices, db_index=True)
    certificate_delivery = models.CharField(
        max_length=8,
        choices=CertificateDelivery.choices,
        default=CertificateDelivery.SCEP,
        db_index=True,
        editable=False,
        help_text="SCEP: the device enrolls with its own key; PKCS: the CA generates the key and delivers a "
        "PKCS#12 (a PKCS certificate profile, set when it is created)",
    )
    key_algorithm = models.CharField(
        max_length=8,
        choices=KeyAlgorithm.choices,
        default=KeyAlgorithm.RSA,
        help_text="PKCS profiles: the key the CA generates (SCEP keys are the device's RSA keys)",
    )
    certificate_type = models.CharField(
        max_length=8,
        choices=_choices(CertificateType),
        default=CertificateType.USER.value,
        help_text=f"Device certificates only on {DEVICE_CERTIFICATE_PLATFORM_NAMES}",
    )
    subject_name_format = models.CharField(
        max_length=40, choices=_choices(SubjectNameFormat), default=SubjectNameFormat.COMMON_NAME.value
    )
    subject_name_format_string = models.CharField(
        max_length=1024,
        blank=True,
        help_text="Custom format, e.g. CN={{UserName}},E={{EmailAddress}},OU=Mobile,O=Finance Group,C=US",
    )
    subject_alternative_names = models.JSONField(
        default=list,
        blank=True,
        help_text='List of {"type": "email"|"upn"|"dns"|"uri", "value": "{{UserPrincipalName}}"}',
    )
    validity_value = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Only when the template allows the requester's validity; never above it",
    )
    validity_scale = models.CharField(max_length=8, choices=_choices(ValidityScale), blank=True)
    key_storage_provider = models.CharField(
        max_length=40, choices=_choices(KeyStorageProvider), blank=True, help_text="Windows only"
    )
    key_usage_digital_signature = models.BooleanField(default=True)
    key_usage_key_encipherment = models.BooleanField(default=True)
    key_size = models.PositiveIntegerField(
        default=2048, choices=[(1024, "1024"), (2048, "2048"), (4096, "4096")]
    )
    hash_algorithms = models.JSONField(
        default=list, blank=True, help_text='["sha1", "sha2"]; empty: SHA-2 (iOS has no such setting)'
    )
    root_profile = models.ForeignKey(
        TrustedRootProfile,
        on_delete=models.PROTECT,
        related_name="scep_profiles",
        help_text="Trusted certificate profile with the root of the issuing CA's chain",
    )
    extended_key_usages = models.JSONField(default=_default_ekus, blank=True)
    renewal_threshold_percentage = models.PositiveSmallIntegerField(
        default=20, validators=[MinValueValidator(1), MaxValueValidator(99)]
    )
    scep_server_urls = models.JSONField(
        default=list, blank=True, help_text="One or more SCEP (NDES) URLs (none for a PKCS profile)"
    )
    authority = models.ForeignKey(
        CertificateAuthority, on_delete=models.PROTECT, related_name="scep_profiles"
    )
    template = models.ForeignKey(CertificateTemplate, on_delete=models.PROTECT, related_name="scep_profiles")
    include_sid_uri = models.BooleanField(
        default=False,
        help_text="KB5014754: add the user's SID as the SAN URL tag:microsoft.com,2022-09-14:sid:<SID>",
    )
    include_sid_extension = models.BooleanField(
        default=False, help_text="KB5014754: add the SID extension 1.3.6.1.4.1.311.25.2"
    )
    allow_all_apps_access = models.BooleanField(default=False, help_text="macOS: AllowAllAppsAccess")
    revoke_on_removal = models.BooleanField(
        default=True,
        help_text="Revoke a device's certificates when the profile no longer applies to it (unassigned, "
        "excluded, the device left the group) or is deleted; Intune's behaviour. Off: they stay valid "
        "until they expire",
    )
    revoke_on_change = models.BooleanField(
        default=True,
        help_text="Revoke the certificates issued under this profile when a change alters what they say "
        "(subject, SANs, key usage, EKUs, template, CA); devices enroll again at their next check-in",
    )
    revoke_superseded = models.BooleanField(
        default=True,
        help_text="Revoke a device's previous certificate once its renewal or re-issue is issued",
    )
    version = models.PositiveIntegerField(default=1, editable=False, help_text="Bumped on every change")

    class Meta:
        ordering = ("name",)
        verbose_name = "SCEP certificate profile"
        permissions = [
            (
                "name_static_identity",
                "Save a SCEP profile whose subject or SANs name a fixed identity (a static UPN, email, "
                "SID or DNS name)",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_platform_display()})"

    @property
    def validity_days(self) -> int | None:
        days_per_unit: int | None = _DAYS_PER_SCALE_BY_VALUE.get(str(self.validity_scale))
        if self.validity_value is None or days_per_unit is None:
            return None  # not set, or an unknown unit that field validation reports
        return self.validity_value * days_per_unit

    @property
    def is_pkcs(self) -> bool:
        return self.certificate_delivery == CertificateDelivery.PKCS

    @property
    def key_spec(self) -> str:
        """The CA's name of the key a PKCS profile has it generate: RSA-2048, EC-P256, ..."""
        if self.key_algorithm == KeyAlgorithm.EC_P256:
            return "EC-P256"
        if self.key_algorithm == KeyAlgorithm.EC_P384:
            return "EC-P384"
        return f"RSA-{self.key_size}"

    def clean(self) -> None:
        """The rules on this row's own values; the rules that read other rows (template, CA, trusted
        certificate profile) are checked by the services (``profiles.services.profiles``).
        """
        errors = scep_profile_errors(self)
        if errors:
            raise ValidationError(errors)


class PkcsProfileManager(models.Manager["PkcsProfile"]):
    def get_queryset(self) -> models.QuerySet[PkcsProfile]:
        return super().get_queryset().filter(certificate_delivery=CertificateDelivery.PKCS)


class PkcsProfile(ScepProfile):
    """A PKCS certificate profile: the settings of a SCEP profile, but the CA generates the key and
    delivers it with the certificate as a PKCS#12 at check-in. The same table as the SCEP profiles, so that
    assignments, device states and the certificate lifecycle (renewal, revocation) are the same.
    """

    objects = PkcsProfileManager()  # type: ignore[misc]  # the proxy's manager narrows the rows

    class Meta:
        proxy = True
        verbose_name = "PKCS certificate profile"

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.certificate_delivery = CertificateDelivery.PKCS
        super().save(*args, **kwargs)


class ProfileAssignment(TimestampedModel):
    """Include or exclude a group (or all users / all devices) for one profile, as Intune's assignments."""

    scep_profile = models.ForeignKey(
        ScepProfile, on_delete=models.CASCADE, null=True, blank=True, related_name="assignments"
    )
    trusted_root_profile = models.ForeignKey(
        TrustedRootProfile, on_delete=models.CASCADE, null=True, blank=True, related_name="assignments"
    )
    resource_profile = models.ForeignKey(
        "profiles.ResourceProfile",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="assignments",
    )
    target = models.CharField(max_length=16, choices=AssignmentTarget.choices, default=AssignmentTarget.GROUP)
    group = models.ForeignKey(
        Group, on_delete=models.CASCADE, null=True, blank=True, related_name="assignments"
    )
    intent = models.CharField(
        max_length=8, choices=AssignmentIntent.choices, default=AssignmentIntent.INCLUDE
    )

    class Meta:
        ordering = ("id",)
        constraints = [
            models.CheckConstraint(
                condition=models.Q(scep_profile__isnull=False, trusted_root_profile__isnull=True)
                & models.Q(resource_profile__isnull=True)
                | models.Q(scep_profile__isnull=True, trusted_root_profile__isnull=False)
                & models.Q(resource_profile__isnull=True)
                | models.Q(scep_profile__isnull=True, trusted_root_profile__isnull=True)
                & models.Q(resource_profile__isnull=False),
                name="profiles_assignment_one_profile",
            ),
            models.UniqueConstraint(
                fields=["scep_profile", "target", "group"],
                name="profiles_assignment_unique_scep",
                condition=models.Q(scep_profile__isnull=False),
                violation_error_message="this target is already assigned to the profile (include or exclude)",
            ),
            models.UniqueConstraint(
                fields=["trusted_root_profile", "target", "group"],
                name="profiles_assignment_unique_root",
                condition=models.Q(trusted_root_profile__isnull=False),
                violation_error_message="this target is already assigned to the profile (include or exclude)",
            ),
            models.UniqueConstraint(
                fields=["resource_profile", "target", "group"],
                name="profiles_assignment_unique_resource",
                condition=models.Q(resource_profile__isnull=False),
                violation_error_message="this target is already assigned to the profile (include or exclude)",
            ),
        ]

    def __str__(self) -> str:
        what = self.group.name if self.group_id and self.group else self.get_target_display()
        return f"{self.get_intent_display()} {what} -> {self.profile}"

    @property
    def profile(self) -> ScepProfile | TrustedRootProfile | ResourceProfile | None:
        return self.scep_profile or self.trusted_root_profile or self.resource_profile

    def clean(self) -> None:
        errors: dict[str, str] = {}
        # An admin inline sets the parent object before it has a primary key: count it as set.
        has_scep = self.scep_profile_id is not None or _related_is_set(self, "scep_profile")
        has_root = self.trusted_root_profile_id is not None or _related_is_set(self, "trusted_root_profile")
        has_resource = self.resource_profile_id is not None or _related_is_set(self, "resource_profile")
        if [has_scep, has_root, has_resource].count(True) != 1:
            errors["scep_profile"] = (
                "assign exactly one profile: a SCEP or PKCS profile, a trusted certificate profile or a "
                "resource profile"
            )
        if self.target == AssignmentTarget.GROUP and self.group_id is None:
            errors["group"] = "choose the group to include or exclude"
        if self.target != AssignmentTarget.GROUP and self.group_id is not None:
            errors["group"] = f"'{self.get_target_display()}' takes no group"
        if self.intent == AssignmentIntent.EXCLUDE and self.target != AssignmentTarget.GROUP:
            errors["intent"] = "only groups can be excluded"
        if errors:
            raise ValidationError(errors)


def _related_is_set(instance: models.Model, name: str) -> bool:
    descriptor = getattr(type(instance), name)
    return bool(descriptor.is_cached(instance) and getattr(instance, name) is not None)


class DeviceChallenge(TimestampedModel):
    """A one-time SCEP challenge for one device and profile, bound to exactly the request it authorises.

    The device receives ``cp1.<id>.<secret>``; only an HMAC of the secret is stored.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="challenges")
    profile = models.ForeignKey(ScepProfile, on_delete=models.CASCADE, related_name="challenges")
    profile_version = models.PositiveIntegerField()
    user = models.ForeignKey(
        DirectoryUser, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    secret_digest = models.CharField(max_length=64)
    subject_json = models.JSONField(help_text="Rendered subject (JSON RDNs)")
    sans_json = models.JSONField(default=list, help_text="Rendered SANs")
    canonical_subject = models.CharField(max_length=2048)
    canonical_sans = models.JSONField(default=list)
    key_size = models.PositiveIntegerField()
    validity_days = models.PositiveIntegerField(null=True, blank=True)
    sid = models.CharField(max_length=184, blank=True)
    scep_server_paths = models.JSONField(
        default=list,
        blank=True,
        help_text="URL paths of the profile's SCEP servers at issue: the SCEP services it is good for",
    )
    expires_at = models.DateTimeField(db_index=True)
    consumed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at",)
        permissions = [
            (
                "hand_out_payload",
                "Hand out a device's payload on its behalf (issues one-time challenges for its user)",
            )
        ]

    def __str__(self) -> str:
        return f"challenge {self.id} for {self.device_id}/{self.profile_id}"

    def is_expired(self, now: dt.datetime) -> bool:
        return self.expires_at <= now


class DeviceCertificateState(TimestampedModel):
    """Where one device stands for one SCEP profile: "which devices still have no certificate, and why"."""

    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="certificate_states")
    profile = models.ForeignKey(ScepProfile, on_delete=models.CASCADE, related_name="device_states")
    state = models.CharField(max_length=20, choices=CertificateState.choices, db_index=True)
    reason = models.CharField(max_length=1024, blank=True)
    diagnostic_code = models.PositiveIntegerField(null=True, blank=True)
    certificate = models.ForeignKey(
        IssuedCertificate, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    state_changed_at = models.DateTimeField()

    class Meta:
        ordering = ("device", "profile")
        constraints = [
            models.UniqueConstraint(
                fields=["device", "profile"], name="profiles_one_state_per_device_profile"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.device} / {self.profile}: {self.get_state_display()}"

    @property
    def graph_issuance_state(self) -> int:
        return CertificateState(self.state).graph_state


class DeviceCertificate(models.Model):
    """Every certificate issued to a device under a profile, and where it stands (Graph
    managedDeviceCertificateState): issued, renewal due, superseded, expired or revoked, with the reason.
    """

    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="certificates")
    profile = models.ForeignKey(
        ScepProfile, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    certificate = models.OneToOneField(
        IssuedCertificate, on_delete=models.CASCADE, related_name="device_binding"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    status = models.CharField(
        max_length=16,
        choices=DeviceCertificateStatus.choices,
        default=DeviceCertificateStatus.ISSUED,
        db_index=True,
    )
    status_reason = models.CharField(max_length=1024, blank=True)
    status_changed_at = models.DateTimeField(null=True, blank=True)
    revoke_status = models.CharField(
        max_length=16, choices=RevokeStatus.choices, default=RevokeStatus.NONE, db_index=True
    )
    revoke_status_changed_at = models.DateTimeField(null=True, blank=True)
    #: When the profile's renewal threshold is reached (notAfter minus the threshold share of the lifetime).
    renewal_due_at = models.DateTimeField(null=True, blank=True, db_index=True)
    superseded_by = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="supersedes"
    )

    class Meta:
        ordering = ("-created_at",)

    def __str__(self) -> str:
        return f"{self.certificate} on {self.device}"


class ManagedDevice(Device):
    """A device as the certificate side sees it (the admin's device actions: retire and wipe, which revoke;
    a new check-in token; a payload handed out on the device's behalf). The directory's own page edits the
    device's attributes.
    """

    class Meta:
        proxy = True
        verbose_name = "managed device"


from profiles.models_resources import DevicePkcsRequest, ResourceProfile  # noqa: E402 - after the models it uses
