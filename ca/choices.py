"""Choices of the certificate authority's models."""

from __future__ import annotations

from cryptography import x509

from django.db import models

__all__ = [
    "CertificateRequestStatus",
    "CertificateStatus",
    "KeyType",
    "PkcsRequestStatus",
    "RevocationCause",
    "RevocationOutcome",
    "RevocationReason",
    "RevocationRequestStatus",
    "RolloverStatus",
    "SignatureHash",
    "TemplatePurpose",
]


class KeyType(models.TextChoices):
    RSA = "RSA", "RSA"
    EC = "EC", "Elliptic curve"


class SignatureHash(models.TextChoices):
    SHA256 = "sha256", "SHA-256"
    SHA384 = "sha384", "SHA-384"
    SHA512 = "sha512", "SHA-512"


class TemplatePurpose(models.TextChoices):
    """The AD CS template purpose (Request Handling tab) and the NDES registry value it maps to."""

    SIGNATURE = "signature", "Signature (SignatureTemplate)"
    ENCRYPTION = "encryption", "Encryption (EncryptionTemplate)"
    SIGNATURE_AND_ENCRYPTION = "signature_and_encryption", "Signature and encryption (GeneralPurposeTemplate)"

    @property
    def ndes_registry_value(self) -> str:
        return {
            "signature": "SignatureTemplate",
            "encryption": "EncryptionTemplate",
            "signature_and_encryption": "GeneralPurposeTemplate",
        }[self.value]


class CertificateStatus(models.TextChoices):
    ISSUED = "issued", "Issued"
    REVOKED = "revoked", "Revoked"
    EXPIRED = "expired", "Expired"


class CertificateRequestStatus(models.TextChoices):
    """Where a request stands in the CA's queue (AD CS: pending, issued, denied, failed)."""

    PENDING_APPROVAL = "pending_approval", "Pending CA certificate manager approval"
    QUEUED = "queued", "Queued for the CA"
    ISSUED = "issued", "Issued"
    DENIED = "denied", "Denied"
    FAILED = "failed", "Failed"

    @classmethod
    def terminal(cls) -> frozenset[str]:
        return frozenset({cls.ISSUED, cls.DENIED, cls.FAILED})


class RevocationReason(models.TextChoices):
    """RFC 5280 CRLReason (5.3.1); value 7 is unused and removeFromCRL is only for delta CRLs."""

    UNSPECIFIED = "unspecified", "Unspecified"
    KEY_COMPROMISE = "key_compromise", "Key compromise"
    CA_COMPROMISE = "ca_compromise", "CA compromise"
    AFFILIATION_CHANGED = "affiliation_changed", "Affiliation changed"
    SUPERSEDED = "superseded", "Superseded"
    CESSATION_OF_OPERATION = "cessation_of_operation", "Cessation of operation"
    CERTIFICATE_HOLD = "certificate_hold", "Certificate hold"
    PRIVILEGE_WITHDRAWN = "privilege_withdrawn", "Privilege withdrawn"
    AA_COMPROMISE = "aa_compromise", "AA compromise"

    @property
    def reason_flag(self) -> x509.ReasonFlags:
        return _REASON_FLAGS[self.value]


_REASON_FLAGS = {
    "unspecified": x509.ReasonFlags.unspecified,
    "key_compromise": x509.ReasonFlags.key_compromise,
    "ca_compromise": x509.ReasonFlags.ca_compromise,
    "affiliation_changed": x509.ReasonFlags.affiliation_changed,
    "superseded": x509.ReasonFlags.superseded,
    "cessation_of_operation": x509.ReasonFlags.cessation_of_operation,
    "certificate_hold": x509.ReasonFlags.certificate_hold,
    "privilege_withdrawn": x509.ReasonFlags.privilege_withdrawn,
    "aa_compromise": x509.ReasonFlags.aa_compromise,
}


class RevocationCause(models.TextChoices):
    """Why a revocation was asked for (the reference revokes on each of these)."""

    ADMIN = "admin", "Revoked by an administrator"
    DEVICE_RETIRED = "device_retired", "Device retired"
    DEVICE_WIPED = "device_wiped", "Device wiped"
    ASSIGNMENT_REMOVED = "assignment_removed", "Profile no longer assigned"
    PROFILE_CHANGED = "profile_changed", "Profile changed what its certificates say"
    PROFILE_DELETED = "profile_deleted", "Profile deleted"
    SUPERSEDED = "superseded", "Superseded by a renewed certificate"


class RevocationRequestStatus(models.TextChoices):
    QUEUED = "queued", "Queued for the CA"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class RevocationOutcome(models.TextChoices):
    PENDING = "pending", "Pending"
    REVOKED = "revoked", "Revoked"
    ALREADY_REVOKED = "already_revoked", "Was already revoked"


class RolloverStatus(models.TextChoices):
    """Where a CA's rollover to its successor (a new key and certificate) stands."""

    REQUESTED = "requested", "Requested: the CA worker creates the next CA"
    PREPARED = "prepared", "Prepared: the next CA exists, GetNextCACert advertises it"
    SWITCHED = "switched", "Switched: the next CA issues, the old one only publishes its CRL and OCSP"
    CANCELLED = "cancelled", "Cancelled before the switch"
    FAILED = "failed", "Failed: the CA worker could not create the next CA"

    @classmethod
    def open(cls) -> frozenset[str]:
        """A rollover under way: at most one per CA."""
        return frozenset({cls.REQUESTED, cls.PREPARED})


class PkcsRequestStatus(models.TextChoices):
    """Where a request for a server-generated key (a PKCS certificate) stands."""

    QUEUED = "queued", "Queued for the CA"
    ISSUED = "issued", "Issued, waiting for delivery"
    DELIVERED = "delivered", "Delivered (the key is no longer kept)"
    FAILED = "failed", "Failed"
