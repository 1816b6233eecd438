"""Creating and changing profiles and assignments; every change of a profile bumps its version."""

from __future__ import annotations

from typing import Any, TypeVar

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from django.db import transaction
from django.db.models import F

from ca.models import CertificateAuthority
from core.exceptions import ApplicationError
from profiles.models import ProfileAssignment, ScepProfile, TrustedRootProfile

__all__ = [
    "assignment_create",
    "certificate_der_from_upload",
    "scep_profile_create",
    "scep_profile_update",
    "trusted_root_profile_create",
    "trusted_root_profile_update",
]


def certificate_der_from_upload(data: bytes) -> bytes:
    """A .cer upload: DER, or PEM (the first certificate)."""
    try:
        if data.lstrip().startswith(b"-----BEGIN"):
            return x509.load_pem_x509_certificate(data).public_bytes(Encoding.DER)
        return x509.load_der_x509_certificate(data).public_bytes(Encoding.DER)
    except ValueError as exc:
        raise ApplicationError(
            f"not an X.509 certificate (DER or PEM): {exc}", code="certificate_invalid"
        ) from exc


@transaction.atomic
def trusted_root_profile_create(
    *, authority: CertificateAuthority | None = None, certificate_der: bytes | None = None, **fields: Any
) -> TrustedRootProfile:
    """From one of our CAs (its certificate wins over an upload) or from an uploaded certificate."""
    if authority is None and certificate_der is None:
        raise ApplicationError("choose one of our CAs or upload a certificate", code="certificate_missing")
    der = authority.certificate_der if authority is not None else certificate_der
    profile = TrustedRootProfile(authority=authority, certificate_der=der, **fields)
    profile.full_clean()
    profile.save()
    return profile


@transaction.atomic
def trusted_root_profile_update(*, profile: TrustedRootProfile, **fields: Any) -> TrustedRootProfile:
    if fields.get("authority") is not None:
        fields["certificate_der"] = fields["authority"].certificate_der
    return _update_with_new_version(profile, fields)


@transaction.atomic
def scep_profile_create(**fields: Any) -> ScepProfile:
    profile = ScepProfile(**fields)
    profile.full_clean()
    profile.save()
    return profile


@transaction.atomic
def scep_profile_update(*, profile: ScepProfile, **fields: Any) -> ScepProfile:
    """Change settings; the version bump means devices renew to pick the change up."""
    return _update_with_new_version(profile, fields)


_Versioned = TypeVar("_Versioned", ScepProfile, TrustedRootProfile)


def _update_with_new_version(profile: _Versioned, fields: dict[str, Any]) -> _Versioned:
    for name, value in fields.items():
        setattr(profile, name, value)
    profile.full_clean()
    profile.version = F("version") + 1  # an update expression, read back below
    profile.save()
    profile.refresh_from_db()
    return profile


@transaction.atomic
def assignment_create(**fields: Any) -> ProfileAssignment:
    assignment = ProfileAssignment(**fields)
    assignment.full_clean()
    assignment.save()
    return assignment
