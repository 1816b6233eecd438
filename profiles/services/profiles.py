"""Creating and changing profiles and assignments; every change of a profile bumps its version.

A SCEP profile is validated as a whole before it is saved: its model's own rules (``full_clean``) and
the rules that read the rows it refers to (:func:`profiles.validation.scep_profile_relation_errors`),
in one ``ValidationError`` keyed by field, as the API and the admin show it. A trusted certificate
profile's thumbprint, subject and expiry follow from its certificate and are set here, before saving.
"""

from __future__ import annotations

import copy
from typing import Any, Final

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F

from ca.choices import RevocationCause
from ca.models import CertificateAuthority
from core.exceptions import ApplicationError
from core.requesters import requester_may
from core.services import model_update
from directory.models import Platform
from profiles.models import ProfileAssignment, ScepProfile, TrustedRootProfile
from profiles.options import DestinationStore
from profiles.services.reconcile import profile_certificates_revoke, profile_devices_reconcile
from profiles.services.states import profile_renewal_threshold_apply
from profiles.validation import profile_static_identities, scep_profile_relation_errors

__all__ = [
    "CERTIFICATE_CONTENT_FIELDS",
    "STATIC_IDENTITY_PERMISSION",
    "StaticIdentityNotPermitted",
    "assignment_create",
    "assignment_delete",
    "assignment_update",
    "certificate_der_from_upload",
    "scep_profile_create",
    "scep_profile_delete",
    "scep_profile_update",
    "scep_profile_validate",
    "trusted_root_profile_create",
    "trusted_root_profile_derived",
    "trusted_root_profile_update",
]

#: What the update services change; ``version`` and the timestamps are theirs alone.
_SCEP_PROFILE_FIELDS: Final = tuple(
    field.name
    for field in ScepProfile._meta.concrete_fields
    if field.editable and not field.primary_key and field.name not in {"created_at", "updated_at"}
)
_ASSIGNMENT_FIELDS: Final = (
    "scep_profile",
    "trusted_root_profile",
    "resource_profile",
    "target",
    "group",
    "intent",
)
#: The settings of a SCEP profile whose change alters what its certificates say (revoke_on_change).
CERTIFICATE_CONTENT_FIELDS: Final = frozenset(
    {
        "certificate_type",
        "subject_name_format",
        "subject_name_format_string",
        "subject_alternative_names",
        "include_sid_uri",
        "include_sid_extension",
        "key_usage_digital_signature",
        "key_usage_key_encipherment",
        "key_size",
        "extended_key_usages",
        "template",
        "authority",
    }
)
_TRUSTED_ROOT_DERIVED_FIELDS: Final = ("thumbprint_sha1", "subject", "not_after")
_TRUSTED_ROOT_PROFILE_FIELDS: Final = (
    "name",
    "description",
    "platform",
    "authority",
    "certificate_der",
    "certificate_file_name",
    "destination_store",
    *_TRUSTED_ROOT_DERIVED_FIELDS,
)


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


def trusted_root_profile_derived(
    *,
    certificate_der: bytes | memoryview,
    name: str,
    platform: str,
    certificate_file_name: str,
    destination_store: str,
) -> dict[str, Any]:
    """The values that follow from the certificate, and the defaults of file name and destination store.

    A certificate that does not parse gives no certificate values: ``full_clean`` reports it.
    """
    derived: dict[str, Any] = {}
    if not certificate_file_name:
        derived["certificate_file_name"] = f"{name or 'root'}.cer"
    if platform in Platform.windows() and not destination_store:
        derived["destination_store"] = DestinationStore.COMPUTER_ROOT.value
    try:
        certificate = x509.load_der_x509_certificate(bytes(certificate_der or b""))
    except ValueError:
        return derived
    derived["thumbprint_sha1"] = certificate.fingerprint(hashes.SHA1()).hex().upper()  # noqa: S303 - thumbprint
    derived["subject"] = certificate.subject.rfc4514_string()
    derived["not_after"] = certificate.not_valid_after_utc
    return derived


@transaction.atomic
def trusted_root_profile_create(
    *, authority: CertificateAuthority | None = None, certificate_der: bytes | None = None, **fields: Any
) -> TrustedRootProfile:
    """From one of our CAs (its certificate wins over an upload) or from an uploaded certificate."""
    if authority is None and certificate_der is None:
        raise ApplicationError("choose one of our CAs or upload a certificate", code="certificate_missing")
    der = authority.certificate_der if authority is not None else certificate_der
    profile = TrustedRootProfile(authority=authority, certificate_der=der, **fields)
    derived = trusted_root_profile_derived(
        certificate_der=profile.certificate_der,
        name=profile.name,
        platform=profile.platform,
        certificate_file_name=profile.certificate_file_name,
        destination_store=profile.destination_store,
    )
    for name, value in derived.items():
        setattr(profile, name, value)
    profile.full_clean()
    profile.save()
    return profile


@transaction.atomic
def trusted_root_profile_update(*, profile: TrustedRootProfile, **fields: Any) -> TrustedRootProfile:
    """Change settings or the certificate (one of our CAs: its certificate); bumps the version if any
    value changed.
    """
    if fields.get("authority") is not None:
        fields["certificate_der"] = fields["authority"].certificate_der
    derived = trusted_root_profile_derived(
        certificate_der=fields.get("certificate_der", profile.certificate_der),
        name=fields.get("name", profile.name),
        platform=fields.get("platform", profile.platform),
        certificate_file_name=fields.get("certificate_file_name", profile.certificate_file_name),
        destination_store=fields.get("destination_store", profile.destination_store),
    )
    update = model_update(instance=profile, data={**fields, **derived}, fields=_TRUSTED_ROOT_PROFILE_FIELDS)
    if update.has_changed:
        _version_bump(profile)
    return profile


def scep_profile_validate(*, profile: ScepProfile) -> None:
    """Every rule of a SCEP profile: its own (``full_clean``) and those that read the rows it refers to.

    Raises:
        ValidationError: all the errors, keyed by field.
    """
    errors: dict[str, Any] = {}
    try:
        profile.full_clean()
    except ValidationError as exc:
        exc.update_error_dict(errors)
    relation_errors = scep_profile_relation_errors(profile)
    if relation_errors:
        ValidationError(relation_errors).update_error_dict(errors)
    if errors:
        raise ValidationError(errors)


#: Saving a profile that names a fixed identity (``profiles.naming.identity``) needs this right.
STATIC_IDENTITY_PERMISSION: Final = "profiles.name_static_identity"


class StaticIdentityNotPermitted(ApplicationError):
    code = "static_identity_not_permitted"
    http_status = 403


def _static_identities_check(profile: ScepProfile, before: tuple[str, ...] = ()) -> None:
    """A profile that would issue every holder the same identity (a static UPN, email, SID or DNS name)
    is a certificate manager's to save; one that keeps the fixed identities it had is anyone's to edit.
    """
    identities = profile_static_identities(profile)
    added = sorted(set(identities) - set(before))
    if added and not requester_may(STATIC_IDENTITY_PERMISSION):
        raise StaticIdentityNotPermitted(
            f"the profile names a fixed identity ({', '.join(added)}): every device that gets it could "
            "authenticate as that account; saving it needs the certificate manager's right "
            f"({STATIC_IDENTITY_PERMISSION}). Use a variable such as {{{{UserPrincipalName}}}} instead.",
            extra={"identities": added},
        )


@transaction.atomic
def scep_profile_create(**fields: Any) -> ScepProfile:
    profile = ScepProfile(**fields)
    scep_profile_validate(profile=profile)
    _static_identities_check(profile)
    profile.save()
    return profile


@transaction.atomic
def scep_profile_update(*, profile: ScepProfile, **fields: Any) -> ScepProfile:
    """Change settings; if any value changed, the version is bumped, so devices renew to pick it up.

    The profile with the new values is validated as a whole before anything is saved.
    """
    candidate = copy.copy(profile)  # as ``profile`` will be, checked before ``profile`` changes
    for name, value in fields.items():
        setattr(candidate, name, value)
    scep_profile_validate(profile=candidate)
    _static_identities_check(candidate, before=profile_static_identities(profile))
    update = model_update(instance=profile, data=fields, fields=_SCEP_PROFILE_FIELDS, clean=False)
    if update.has_changed:
        _version_bump(profile)
    changed_content = sorted(set(update.changed) & CERTIFICATE_CONTENT_FIELDS)
    if changed_content and profile.revoke_on_change:
        profile_certificates_revoke(
            profile=profile,
            cause=RevocationCause.PROFILE_CHANGED,
            comment=f"the profile changed what its certificates say ({', '.join(changed_content)})",
        )
    if "platform" in update.changed:
        profile_devices_reconcile(profile=profile)
    if "renewal_threshold_percentage" in update.changed:
        profile_renewal_threshold_apply(profile=profile)
    return profile


@transaction.atomic
def scep_profile_delete(*, profile: ScepProfile) -> None:
    """Delete the profile; its certificates are revoked first unless the profile keeps them."""
    if profile.revoke_on_removal:
        profile_certificates_revoke(
            profile=profile, cause=RevocationCause.PROFILE_DELETED, comment=f"profile {profile.name} deleted"
        )
    profile.delete()


def _version_bump(profile: ScepProfile | TrustedRootProfile) -> None:
    type(profile)._default_manager.filter(pk=profile.pk).update(version=F("version") + 1)
    profile.refresh_from_db(fields=["version"])


def _assignment_changed(assignment: ProfileAssignment) -> None:
    """An include or an exclusion changed: the devices of its SCEP profile may have lost it."""
    if assignment.scep_profile_id is not None:
        profile_devices_reconcile(profile=ScepProfile.objects.get(pk=assignment.scep_profile_id))


@transaction.atomic
def assignment_create(**fields: Any) -> ProfileAssignment:
    assignment = ProfileAssignment(**fields)
    assignment.full_clean()
    assignment.save()
    _assignment_changed(assignment)
    return assignment


@transaction.atomic
def assignment_update(*, assignment: ProfileAssignment, **fields: Any) -> ProfileAssignment:
    before = copy.copy(assignment)
    model_update(instance=assignment, data=fields, fields=_ASSIGNMENT_FIELDS)
    _assignment_changed(before)
    if assignment.scep_profile_id != before.scep_profile_id:
        _assignment_changed(assignment)
    return assignment


@transaction.atomic
def assignment_delete(*, assignment: ProfileAssignment) -> None:
    assignment.delete()
    _assignment_changed(assignment)
