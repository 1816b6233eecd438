"""Choices of certificate profiles: Intune's enums (Graph names as values), and device certificate states.

The certificate type and the subject name format are part of the pure naming package
(:class:`profiles.naming.variables.CertificateType`, :class:`profiles.naming.subject.SubjectNameFormat`),
Intune's other profile options are :mod:`profiles.options`; the model fields take their choices from
those enums.
"""

from __future__ import annotations

from django.db import models

__all__ = [
    "AssignmentIntent",
    "AssignmentTarget",
    "CertificateDelivery",
    "CertificateState",
    "DeviceCertificateStatus",
    "EmailAddressAttribute",
    "KeyAlgorithm",
    "ResourceKind",
    "RevokeStatus",
    "WifiSecurity",
]


class AssignmentTarget(models.TextChoices):
    GROUP = "group", "Group"
    ALL_USERS = "all_users", "All users"
    ALL_DEVICES = "all_devices", "All devices"


class AssignmentIntent(models.TextChoices):
    INCLUDE = "include", "Include"
    EXCLUDE = "exclude", "Exclude"


class CertificateState(models.TextChoices):
    """Where a device stands for one SCEP profile; ``graph_state`` maps to Graph certificateIssuanceStates."""

    NOT_APPLICABLE = "not_applicable", "Not applicable"
    PENDING = "pending", "Pending"
    CHALLENGE_ISSUED = "challenge_issued", "Challenge issued"
    ISSUE_PENDING = "issue_pending", "Issue pending"
    ISSUED = "issued", "Issued"
    FAILED = "failed", "Failed"
    RENEWAL_DUE = "renewal_due", "Renewal due"
    REVOKED = "revoked", "Revoked"
    EXPIRED = "expired", "Expired"
    REMOVED = "removed", "Removed from the device's assignments"

    @property
    def graph_state(self) -> int:
        """CertificateIssuanceStates value (../shared/reference/intune-model.md 1.4)."""
        return {
            "not_applicable": 13,  # enrollmentNotNeeded
            "pending": 22,  # requested
            "challenge_issued": 1,  # challengeIssued
            "issue_pending": 8,  # issuePending
            "issued": 9,  # issued
            "failed": 7,  # issueFailed (challengeValidationFailed is 6; the reason says which)
            "renewal_due": 21,  # renewalRequested
            "revoked": 14,  # revoked
            "expired": 0,  # unknown: Graph has no expired state (certificateExpirationDateTime says it)
            "removed": 15,  # removedFromCollection
        }[self.value]


class DeviceCertificateStatus(models.TextChoices):
    """Where one issued certificate of a device stands (Graph managedDeviceCertificateState)."""

    ISSUED = "issued", "Issued"
    RENEWAL_DUE = "renewal_due", "Renewal due"
    SUPERSEDED = "superseded", "Superseded by a newer certificate"
    EXPIRED = "expired", "Expired"
    REVOKED = "revoked", "Revoked"


class RevokeStatus(models.TextChoices):
    """Graph certificateRevocationStatus of a device's certificate."""

    NONE = "none", "None"
    PENDING = "pending", "Revocation pending"
    REVOKED = "revoked", "Revoked"
    FAILED = "failed", "Revocation failed"


class CertificateDelivery(models.TextChoices):
    """How a certificate profile's certificate reaches the device: the device enrolls over SCEP with its own
    key, or the CA generates the key and delivers a PKCS#12 (Intune's PKCS certificate profiles).
    """

    SCEP = "scep", "SCEP (the device generates its key)"
    PKCS = "pkcs", "PKCS (the CA generates the key, delivered as PKCS#12)"


class KeyAlgorithm(models.TextChoices):
    """The key a PKCS certificate profile has the CA generate (SCEP keys are RSA: the device's)."""

    RSA = "rsa", "RSA (the profile's key size)"
    EC_P256 = "ec_p256", "ECDSA P-256"
    EC_P384 = "ec_p384", "ECDSA P-384"


class ResourceKind(models.TextChoices):
    """What a resource profile configures with the certificate of its identity profile."""

    WIFI = "wifi", "Wi-Fi (EAP-TLS)"
    VPN = "vpn", "VPN (IKEv2, certificate)"
    EMAIL = "email", "Email (Exchange ActiveSync, certificate)"


class WifiSecurity(models.TextChoices):
    WPA2_ENTERPRISE = "wpa2_enterprise", "WPA2-Enterprise"
    WPA3_ENTERPRISE = "wpa3_enterprise", "WPA3-Enterprise"


class EmailAddressAttribute(models.TextChoices):
    """Which directory attribute gives the account's email address and user name (Intune's setting)."""

    EMAIL = "email", "Primary SMTP address"
    UPN = "upn", "User principal name"
