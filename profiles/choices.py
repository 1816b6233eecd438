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
    "CertificateState",
    "DeviceCertificateStatus",
    "RevokeStatus",
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
