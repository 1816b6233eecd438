"""Creating and changing PKCS certificate profiles and Wi-Fi, VPN and email resource profiles.

A PKCS profile is a certificate profile whose key the CA generates: it is saved through the SCEP
profile services (the same rules, versioning and revocation on change), with its delivery set once.
"""

from __future__ import annotations

from typing import Any, Final

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F

from core.services import model_update
from profiles.choices import CertificateDelivery
from profiles.models import PkcsProfile, ResourceProfile, ScepProfile
from profiles.services.profiles import scep_profile_create

__all__ = [
    "pkcs_profile_create",
    "resource_profile_create",
    "resource_profile_delete",
    "resource_profile_update",
    "resource_profile_validate",
]

_RESOURCE_FIELDS: Final = tuple(
    field.name
    for field in ResourceProfile._meta.concrete_fields
    if field.editable and not field.primary_key and field.name not in {"created_at", "updated_at"}
)


@transaction.atomic
def pkcs_profile_create(**fields: Any) -> PkcsProfile:
    """A PKCS certificate profile (every rule of a SCEP profile, but no SCEP servers)."""
    fields.pop("certificate_delivery", None)
    fields.setdefault("scep_server_urls", [])
    profile = scep_profile_create(certificate_delivery=CertificateDelivery.PKCS, **fields)
    return PkcsProfile.objects.get(pk=profile.pk)


def resource_profile_validate(*, profile: ResourceProfile) -> None:
    """Its own rules and those of the profiles it refers to (same platform; a root that is a root).

    Raises:
        ValidationError: all the errors, keyed by field.
    """
    errors: dict[str, Any] = {}
    try:
        profile.full_clean()
    except ValidationError as exc:
        exc.update_error_dict(errors)
    identity: ScepProfile | None = profile.identity_profile if profile.identity_profile_id else None
    if identity is not None and identity.platform != profile.platform:
        errors.setdefault("identity_profile", []).append(
            f"the certificate profile is for {identity.get_platform_display()}"
        )
    root = profile.server_root_profile if profile.server_root_profile_id else None
    if root is not None and root.platform != profile.platform:
        errors.setdefault("server_root_profile", []).append(
            f"the trusted certificate profile is for {root.get_platform_display()}"
        )
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def resource_profile_create(**fields: Any) -> ResourceProfile:
    profile = ResourceProfile(**fields)
    resource_profile_validate(profile=profile)
    profile.save()
    return profile


@transaction.atomic
def resource_profile_update(*, profile: ResourceProfile, **fields: Any) -> ResourceProfile:
    """Change settings (validated as a whole first); bumps the version if any value changed."""
    candidate = ResourceProfile.objects.get(pk=profile.pk)
    for name, value in fields.items():
        setattr(candidate, name, value)
    resource_profile_validate(profile=candidate)
    update = model_update(instance=profile, data=fields, fields=_RESOURCE_FIELDS, clean=False)
    if update.has_changed:
        ResourceProfile.objects.filter(pk=profile.pk).update(version=F("version") + 1)
        profile.refresh_from_db(fields=["version"])
    return profile


@transaction.atomic
def resource_profile_delete(*, profile: ResourceProfile) -> None:
    """Delete it with its assignments (the certificates it used are the identity profile's)."""
    profile.delete()
