"""The rules a SCEP profile must satisfy to be saved (shown to the admin as field errors).

They mirror the reference: device certificates only on some platforms; subject and SAN formats that
parse (unknown variables, stray curly brackets, pipes and semicolons are errors); a validity only when
the CA template lets the requester choose one, never above it, and never for iOS/macOS; the root
profile must hold the root of the issuing CA's chain, on the same platform; the template must be one
the CA issues, with key size and EKUs the profile asks for.

Two sets: :func:`scep_profile_errors` reads only the profile's own values (``ScepProfile.clean``);
:func:`scep_profile_relation_errors` reads the rows it refers to (template, CA, trusted certificate
profile) and is checked by the services (``profiles.services.profiles``) and the admin's form.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator

from directory.models import Platform
from profiles.conf import profiles_settings
from profiles.constants import DEVICE_CERTIFICATE_PLATFORM_NAMES, DEVICE_CERTIFICATE_PLATFORMS
from profiles.naming.identity import static_identities
from profiles.naming.sans import SanTemplate, SanType, parse_san_entries
from profiles.naming.subject import SubjectNameFormat, parse_subject_format, subject_format_for
from profiles.naming.variables import CertificateType, TemplateError
from profiles.options import HashAlgorithm, KeyStorageProvider

if TYPE_CHECKING:
    from profiles.models import ScepProfile

__all__ = [
    "SAN_TYPES",
    "profile_static_identities",
    "san_entries",
    "scep_profile_errors",
    "scep_profile_relation_errors",
    "subject_format_text",
]

SAN_TYPES = {"email": SanType.EMAIL, "upn": SanType.UPN, "dns": SanType.DNS, "uri": SanType.URI}
_OID = re.compile(r"^[0-2](\.(0|[1-9][0-9]*))+$")
#: Intune offers a hash algorithm choice on Android, Windows and macOS, not on iOS.
_HASH_PLATFORMS = frozenset(Platform.values) - {Platform.IOS}


def subject_format_text(profile: ScepProfile) -> str:
    return subject_format_for(
        profile.subject_name_format,
        certificate_type=profile.certificate_type,
        custom=profile.subject_name_format_string,
    )


def san_entries(profile: ScepProfile) -> list[tuple[SanType, str]]:
    """The profile's SAN table as (type, value template); raises ValueError for a malformed table."""
    entries = profile.subject_alternative_names
    if not isinstance(entries, list):
        raise ValueError("enter a list of {type, value} entries")
    result = []
    for index, entry in enumerate(entries, start=1):
        if not isinstance(entry, dict) or set(entry) - {"type", "value"}:
            raise ValueError(f'entry {index}: write {{"type": "dns", "value": "..."}}')
        kind = str(entry.get("type", "")).lower()
        if kind not in SAN_TYPES:
            raise ValueError(f"entry {index}: type must be one of {', '.join(SAN_TYPES)}")
        result.append((SAN_TYPES[kind], str(entry.get("value", ""))))
    if profile.include_sid_uri:
        result.append((SanType.URI, "{{OnPremisesSecurityIdentifier}}"))
    return result


#: The SAN types of each certificate type, as the reference offers them (user: email and UPN; device:
#: DNS); the KB5014754 SID URI for both. ``CERTPORTAL_PROFILE_ANY_SAN_TYPE`` allows every type for both.
_SAN_TYPES_BY_CERTIFICATE_TYPE = {
    CertificateType.USER: frozenset({SanType.EMAIL, SanType.UPN}),
    CertificateType.DEVICE: frozenset({SanType.DNS}),
}


def profile_static_identities(profile: ScepProfile) -> tuple[str, ...]:
    """The fixed identities the profile's subject and SANs name (``profiles.naming.identity``); none when
    they do not parse (the validation reports that).
    """
    try:
        subject = parse_subject_format(
            subject_format_text(profile), certificate_type=profile.certificate_type
        )
        sans = parse_san_entries(san_entries(profile), certificate_type=profile.certificate_type)
    except (TemplateError, ValueError):
        return ()
    return static_identities(subject, sans)


def _san_type_errors(templates: Sequence[SanTemplate], certificate_type: CertificateType) -> list[str]:
    if profiles_settings().PROFILE_ANY_SAN_TYPE:
        return []
    allowed = _SAN_TYPES_BY_CERTIFICATE_TYPE[certificate_type]
    names = " and ".join(sorted(t.label for t in allowed))
    return [
        f"a {certificate_type.value} certificate's subject alternative names are {names} (and the SID URI); "
        f"{template.san_type.label} is not one of them"
        for template in templates
        if template.san_type not in allowed and not template.is_sid_uri
    ]


def _naming_errors(profile: ScepProfile) -> dict[str, list[str]]:
    """The subject name format, the SAN table and strong mapping."""
    errors: dict[str, list[str]] = {}

    def add(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    windows = profile.platform in Platform.windows()
    if profile.subject_name_format == SubjectNameFormat.CUSTOM and not profile.subject_name_format_string:
        add("subject_name_format_string", "enter the custom subject name format")
    try:
        parse_subject_format(subject_format_text(profile), certificate_type=profile.certificate_type)
    except TemplateError as exc:
        field = (
            "subject_name_format_string"
            if profile.subject_name_format == SubjectNameFormat.CUSTOM
            else "subject_name_format"
        )
        add(field, str(exc))
    try:
        templates = parse_san_entries(san_entries(profile), certificate_type=profile.certificate_type)
    except (TemplateError, ValueError) as exc:
        add("subject_alternative_names", str(exc))
    else:
        for message in _san_type_errors(templates, CertificateType(profile.certificate_type)):
            add("subject_alternative_names", message)
    if (
        (profile.include_sid_uri or profile.include_sid_extension)
        and profile.certificate_type != CertificateType.USER
        and not windows
    ):
        add(
            "include_sid_extension",
            "the SID of strong mapping is the user's, or for a device certificate a hybrid-joined Windows "
            "device's: use a user certificate, or a Windows platform",
        )
    return errors


def scep_profile_errors(profile: ScepProfile) -> dict[str, list[str]]:
    """Errors in the profile's own values, by field (no other row is read)."""
    errors: dict[str, list[str]] = {}

    def add(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    platform = profile.platform
    apple = platform in Platform.apple()
    windows = platform in Platform.windows()
    if profile.certificate_type == CertificateType.DEVICE and platform not in DEVICE_CERTIFICATE_PLATFORMS:
        add("certificate_type", f"device certificates are available on {DEVICE_CERTIFICATE_PLATFORM_NAMES}")
    for field, messages in _naming_errors(profile).items():
        for message in messages:
            add(field, message)

    if profile.key_storage_provider and not windows:
        add("key_storage_provider", "the key storage provider applies to Windows only")
    if profile.key_storage_provider and profile.key_storage_provider not in set(KeyStorageProvider):
        add("key_storage_provider", "unknown key storage provider")
    if not (profile.key_usage_digital_signature or profile.key_usage_key_encipherment):
        add("key_usage_digital_signature", "choose key encipherment, digital signature, or both")
    hashes = profile.hash_algorithms
    if (
        not isinstance(hashes, list)
        or not all(isinstance(item, str) for item in hashes)
        or not set(hashes) <= set(HashAlgorithm)
    ):
        add("hash_algorithms", f"choose from {', '.join(HashAlgorithm)}")
    elif hashes and platform not in _HASH_PLATFORMS:
        add("hash_algorithms", "iOS has no hash algorithm setting; leave it empty")
    if (
        profile.renewal_threshold_percentage is not None
        and not 1 <= profile.renewal_threshold_percentage <= 99
    ):
        add("renewal_threshold_percentage", "enter 1 to 99")

    urls = profile.scep_server_urls
    validate_url = URLValidator(schemes=["http", "https"])
    pkcs = profile.certificate_delivery == "pkcs"
    if pkcs:
        if urls:
            add("scep_server_urls", "a PKCS profile has no SCEP servers: the CA delivers the key")
        if profile.key_algorithm == "rsa" and profile.key_size < 2048:
            add("key_size", "the CA generates RSA keys of 2048 bits or more")
    elif profile.key_algorithm != "rsa":
        add("key_algorithm", "a SCEP device generates an RSA key: EC keys are for PKCS profiles")
    if not pkcs and (not isinstance(urls, list) or not urls):
        add("scep_server_urls", "enter one or more SCEP server URLs")
    elif not pkcs:
        for url in urls:
            try:
                validate_url(str(url))
            except ValidationError:
                add("scep_server_urls", f"{url!r} is not an http(s) URL")

    if not _eku_oids_are_valid(profile.extended_key_usages):
        add("extended_key_usages", 'enter a list of {"name": ..., "oid": "1.3.6.1.5.5.7.3.2"}')

    if (profile.validity_value is None) != (not profile.validity_scale):
        add("validity_value", "enter both the validity period and its unit, or neither")
    elif profile.validity_days is not None and apple:
        add("validity_value", "iOS and macOS always use the validity period of the certificate template")
    return errors


def scep_profile_relation_errors(profile: ScepProfile) -> dict[str, list[str]]:
    """Errors between the profile and the rows it refers to, by field: the template (validity, key size,
    EKUs, non-repudiation, published by the CA) and the trusted certificate profile (platform, root).
    """
    errors: dict[str, list[str]] = {}

    def add(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    apple = profile.platform in Platform.apple()
    authority = profile.authority if profile.authority_id else None
    template = profile.template if profile.template_id else None
    if template is not None:
        days = profile.validity_days
        if days is not None and not apple:  # iOS/macOS: refused by scep_profile_errors
            if not template.allow_requester_validity:
                add(
                    "validity_value",
                    f"template {template.name} does not let the requester choose the validity",
                )
            elif days > template.validity_days:
                add(
                    "validity_value",
                    f"{days} days is above the template's validity of {template.validity_days} days",
                )
            elif authority is not None and days > authority.remaining_validity().days:
                add("validity_value", "above the remaining validity of the issuing CA's certificate")
        ec_bits = {"ec_p256": 256, "ec_p384": 384}.get(profile.key_algorithm)
        if ec_bits is not None and ec_bits < template.min_ec_key_size:
            add(
                "key_algorithm",
                f"template {template.name} requires EC keys of at least {template.min_ec_key_size} bits",
            )
        elif ec_bits is None and profile.key_size < template.min_rsa_key_size:
            add(
                "key_size",
                f"template {template.name} requires RSA keys of at least {template.min_rsa_key_size} bits",
            )
        eku_oids = (
            [str(e["oid"]) for e in profile.extended_key_usages]
            if _eku_oids_are_valid(profile.extended_key_usages)
            else []
        )
        missing = [oid for oid in eku_oids if oid not in template.application_policies]
        if missing:
            add(
                "extended_key_usages",
                f"not in template {template.name}'s application policies: {', '.join(missing)}",
            )
        if profile.key_usage_digital_signature and not template.digital_signature:
            add(
                "key_usage_digital_signature",
                f"template {template.name} does not allow digital signature: certificates would lack it",
            )
        if profile.key_usage_key_encipherment and not template.key_encipherment:
            add(
                "key_usage_key_encipherment",
                f"template {template.name} does not allow key encipherment: certificates would lack it",
            )
        if apple and template.non_repudiation:
            add("template", "for iOS and macOS the template must not set 'signature is proof of origin'")
        if authority is not None and not authority.published_templates.filter(pk=template.pk).exists():
            add("template", f"CA {authority} does not issue template {template.name}")

    root = profile.root_profile if profile.root_profile_id else None
    if root is not None:
        if root.platform != profile.platform:
            add("root_profile", f"the trusted certificate profile is for {root.get_platform_display()}")
        if authority is not None and root.thumbprint_sha1 != authority.root().fingerprint_sha1:
            add(
                "root_profile",
                f"its certificate is not the root of {authority}'s chain ({authority.root().subject})",
            )
    return errors


def _eku_oids_are_valid(ekus: object) -> bool:
    """True for a list of ``{"name": ..., "oid": "<dotted OID>"}`` entries."""
    return isinstance(ekus, list) and all(
        isinstance(e, dict) and _OID.match(str(e.get("oid", ""))) for e in ekus
    )
