"""The profile editor's forms: Intune's profile blade as Django forms.

The list settings (SANs, EKUs, hash algorithms, SCEP server URLs) are rows and pickers
(:mod:`profiles.widgets`) that ``clean`` turns into the model's JSON. Settings that do not apply to the
chosen platform, certificate type or subject name format are hidden by the browser
(:data:`SCEP_APPLICABILITY`, sent to it as JSON) and reset here, whatever was posted: the form is the
truth, the script only hides. The rules themselves are the model's and the services'
(:mod:`profiles.validation`), shown as field errors; saving is the services' (``profiles.admin``).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from django import forms
from django.core.exceptions import ValidationError

from core.exceptions import ApplicationError
from core.requesters import requester_may
from directory.models import Platform
from profiles.conf import profiles_settings
from profiles.constants import DEVICE_CERTIFICATE_PLATFORMS
from profiles.forms_rows import EkuRowsField, SanRowsField, UrlRowsField, scep_url_suggestions
from profiles.models import ScepProfile, TrustedRootProfile
from profiles.naming.subject import SubjectNameFormat, subject_format_for
from profiles.naming.variables import CertificateType, SubjectFormatError
from profiles.options import HashAlgorithm
from profiles.services.profiles import (
    STATIC_IDENTITY_PERMISSION,
    certificate_der_from_upload,
    trusted_root_profile_derived,
)
from profiles.validation import profile_static_identities, scep_profile_relation_errors
from profiles.widgets import LiveCheckboxInput, LiveSelect, VariableTextInput

__all__ = [
    "LIVE_FIELDS",
    "SCEP_APPLICABILITY",
    "TRUSTED_ROOT_APPLICABILITY",
    "Applies",
    "ScepProfileForm",
    "TrustedRootProfileForm",
    "editor_rules",
]

#: The fields whose errors the live preview shows as the admin types (the naming rules).
LIVE_FIELDS: Final = (
    "certificate_type",
    "subject_name_format",
    "subject_name_format_string",
    "subject_alternative_names",
    "include_sid_uri",
    "include_sid_extension",
)


@dataclass(frozen=True)
class Applies:
    """When a setting applies: every condition given holds (``any_of``: one of them). ``empty`` is the
    value it takes when it does not apply; ``clear=False`` keeps the posted value (only hidden).
    """

    platforms: frozenset[str] | None = None
    certificate_types: frozenset[str] | None = None
    subject_name_formats: frozenset[str] | None = None
    any_of: bool = False
    empty: Any = None
    clear: bool = True

    def holds(self, *, platform: str, certificate_type: str, subject_name_format: str) -> bool:
        checks = [
            values is None or value in values
            for values, value in (
                (self.platforms, platform),
                (self.certificate_types, certificate_type),
                (self.subject_name_formats, subject_name_format),
            )
            if values is not None
        ]
        if not checks:
            return True
        return any(checks) if self.any_of else all(checks)

    def as_json(self) -> dict[str, Any]:
        return {
            "platforms": sorted(self.platforms) if self.platforms is not None else None,
            "certificate_types": sorted(self.certificate_types)
            if self.certificate_types is not None
            else None,
            "subject_name_formats": sorted(self.subject_name_formats)
            if self.subject_name_formats is not None
            else None,
            "any_of": self.any_of,
        }


_WINDOWS = Platform.windows()
_NOT_APPLE = frozenset(Platform.values) - Platform.apple()

#: The reference's "(Windows ...)", "(Android, Windows ...)" and iOS/macOS notes, per setting.
SCEP_APPLICABILITY: Final[Mapping[str, Applies]] = {
    "subject_name_format_string": Applies(
        subject_name_formats=frozenset({SubjectNameFormat.CUSTOM}), clear=False
    ),
    "key_storage_provider": Applies(platforms=_WINDOWS, empty=""),
    "hash_algorithms": Applies(platforms=frozenset(Platform.values) - {Platform.IOS}, empty=[]),
    "validity_value": Applies(platforms=_NOT_APPLE, empty=None),
    "validity_scale": Applies(platforms=_NOT_APPLE, empty=""),
    "allow_all_apps_access": Applies(platforms=frozenset({Platform.MACOS}), empty=False),
    "include_sid_uri": Applies(
        platforms=_WINDOWS, certificate_types=frozenset({CertificateType.USER}), any_of=True, empty=False
    ),
    "include_sid_extension": Applies(
        platforms=_WINDOWS, certificate_types=frozenset({CertificateType.USER}), any_of=True, empty=False
    ),
}
TRUSTED_ROOT_APPLICABILITY: Final[Mapping[str, Applies]] = {
    "destination_store": Applies(platforms=_WINDOWS, empty=""),
}


def _formats_for(certificate_type: CertificateType) -> list[str]:
    usable = []
    for choice in SubjectNameFormat:
        try:
            subject_format_for(choice, certificate_type=certificate_type, custom="CN=x")
        except SubjectFormatError:
            continue
        usable.append(choice.value)
    return usable


def editor_rules(applicability: Mapping[str, Applies]) -> dict[str, Any]:
    """What the browser hides and offers (``json_script`` for ``profile_editor.js``)."""
    any_san = profiles_settings().PROFILE_ANY_SAN_TYPE
    return {
        "fields": {name: rule.as_json() for name, rule in applicability.items()},
        "device_certificate_platforms": [str(platform) for platform in DEVICE_CERTIFICATE_PLATFORMS],
        "subject_name_formats": {ctype.value: _formats_for(ctype) for ctype in CertificateType},
        "san_types": None if any_san else {"user": ["email", "upn", "uri"], "device": ["dns", "uri"]},
    }


def _reset_inapplicable(
    cleaned: dict[str, Any], applicability: Mapping[str, Applies], *, defaults: Mapping[str, str]
) -> None:
    facts = {
        "platform": str(cleaned.get("platform") or defaults.get("platform", "")),
        "certificate_type": str(cleaned.get("certificate_type") or defaults.get("certificate_type", "")),
        "subject_name_format": str(
            cleaned.get("subject_name_format") or defaults.get("subject_name_format", "")
        ),
    }
    for name, rule in applicability.items():
        if rule.clear and name in cleaned and not rule.holds(**facts):
            cleaned[name] = copy.copy(rule.empty)


# --- SCEP profile ---------------------------------------------------------------------------------------


class ScepProfileForm(forms.ModelForm):  # type: ignore[type-arg]
    """Every setting of the blade, the list settings as rows; the model's rules, those that read other rows
    (template, CA, trusted certificate profile) and the fixed-identity right as field errors: the ones
    ``scep_profile_create`` / ``scep_profile_update`` would refuse when saving.
    """

    subject_alternative_names = SanRowsField(label="Subject alternative name")
    extended_key_usages = EkuRowsField(
        label="Extended key usage", initial=ScepProfile._meta.get_field("extended_key_usages").get_default
    )
    scep_server_urls = UrlRowsField(label="SCEP server URLs")
    hash_algorithms = forms.MultipleChoiceField(
        label="Hash algorithm",
        required=False,
        choices=[(member.value, member.label) for member in HashAlgorithm],
        widget=forms.CheckboxSelectMultiple,
        help_text="Android, Windows and macOS; none chosen: SHA-2",
    )

    class Meta:
        model = ScepProfile
        fields = (
            "name", "description", "platform", "certificate_type", "subject_name_format",
            "subject_name_format_string", "subject_alternative_names", "validity_value", "validity_scale",
            "key_storage_provider", "key_usage_key_encipherment", "key_usage_digital_signature", "key_size",
            "hash_algorithms", "root_profile", "extended_key_usages", "allow_all_apps_access",
            "renewal_threshold_percentage", "scep_server_urls", "authority", "template", "include_sid_uri",
            "include_sid_extension", "revoke_on_removal", "revoke_on_change", "revoke_superseded",
        )  # fmt: skip
        widgets = {
            "subject_name_format_string": VariableTextInput(),
            "subject_name_format": LiveSelect(),
            "certificate_type": LiveSelect(),
            "include_sid_uri": LiveCheckboxInput(),
            "include_sid_extension": LiveCheckboxInput(),
        }
        labels = {
            "subject_name_format_string": "Custom subject name format",
            "validity_value": "Certificate validity period",
            "validity_scale": "Validity unit",
            "key_usage_digital_signature": "Key usage: digital signature",
            "key_usage_key_encipherment": "Key usage: key encipherment",
            "key_size": "Key size (bits)",
            "root_profile": "Root certificate",
            "renewal_threshold_percentage": "Renewal threshold (%)",
            "authority": "Issuing CA",
            "template": "Certificate template",
            "key_storage_provider": "Key storage provider (KSP)",
            "include_sid_uri": "SID URI in the SAN",
            "include_sid_extension": "SID extension",
            "allow_all_apps_access": "Allow all apps access",
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        urls = self.fields.get("scep_server_urls")
        if isinstance(urls, UrlRowsField):
            in_use = ScepProfile.objects.values_list("scep_server_urls", flat=True)
            urls.set_suggestions(scep_url_suggestions(url for listed in in_use for url in listed or ()))

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        instance = self.instance
        _reset_inapplicable(
            cleaned,
            SCEP_APPLICABILITY,
            defaults={
                "platform": instance.platform,
                "certificate_type": instance.certificate_type,
                "subject_name_format": instance.subject_name_format,
            },
        )
        return cleaned

    def _post_clean(self) -> None:
        super()._post_clean()  # type: ignore[misc]  # private ModelForm method, not in django-stubs
        errors = scep_profile_relation_errors(self.instance)
        if errors:
            self._update_errors(ValidationError(errors))  # type: ignore[attr-defined]
        if not any(name in self.errors for name in LIVE_FIELDS):
            self._static_identities_check()

    def _static_identities_check(self) -> None:
        """The service's fixed-identity rule (``profiles.naming.identity``), next to the field naming one."""
        if requester_may(STATIC_IDENTITY_PERMISSION):
            return
        before: tuple[str, ...] = ()
        if self.instance.pk is not None:
            saved = ScepProfile.objects.filter(pk=self.instance.pk).first()
            before = profile_static_identities(saved) if saved is not None else ()
        for identity in profile_static_identities(self.instance):
            if identity in before:
                continue
            in_subject = identity.startswith(("E=", "UID="))
            self.add_error(
                "subject_name_format_string" if in_subject else "subject_alternative_names",
                f"{identity} is a fixed identity: every device that gets this profile could authenticate "
                "as that account. Saving it needs the certificate manager's right "
                f"({STATIC_IDENTITY_PERMISSION}); use a variable such as {{{{UserPrincipalName}}}} instead.",
            )


# --- trusted certificate profile ------------------------------------------------------------------------


class TrustedRootProfileForm(forms.ModelForm):  # type: ignore[type-arg]
    """One of our CAs, or an uploaded .cer (DER or PEM): the admin's two ways to give the certificate."""

    certificate_file = forms.FileField(
        required=False, help_text="Upload a .cer (DER or PEM), or choose one of our CAs above"
    )

    class Meta:
        model = TrustedRootProfile
        fields = (
            "name",
            "description",
            "platform",
            "authority",
            "certificate_file_name",
            "destination_store",
        )
        labels = {"authority": "One of our CAs", "certificate_file_name": "Certificate file name"}

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        _reset_inapplicable(
            cleaned, TRUSTED_ROOT_APPLICABILITY, defaults={"platform": self.instance.platform}
        )
        authority = cleaned.get("authority")
        upload = cleaned.get("certificate_file")
        if authority is not None:
            self.instance.certificate_der = authority.certificate_der
        elif upload:
            try:
                self.instance.certificate_der = certificate_der_from_upload(upload.read())
            except ApplicationError as exc:
                self.add_error("certificate_file", exc.message)
        elif not self.instance.certificate_der:
            self.add_error("certificate_file", "upload the CA certificate or choose one of our CAs")
        return cleaned

    def _post_clean(self) -> None:
        """The model's rules, then its constraints with the values the service derives from the certificate
        (thumbprint, subject, expiry): the same root twice for one platform is a form error, not a 500.
        """
        super()._post_clean()  # type: ignore[misc]  # private ModelForm method, not in django-stubs
        if self.errors:
            return
        instance = self.instance
        derived = trusted_root_profile_derived(
            certificate_der=instance.certificate_der,
            name=instance.name,
            platform=instance.platform,
            certificate_file_name=instance.certificate_file_name,
            destination_store=instance.destination_store,
        )
        candidate = copy.copy(instance)
        for name, value in derived.items():
            setattr(candidate, name, value)
        try:
            candidate.validate_constraints()
        except ValidationError as exc:
            self._update_errors(exc)

    def _update_errors(self, errors: ValidationError) -> None:
        """The model reports certificate problems on its certificate_der field, shown here as the upload."""
        if hasattr(errors, "error_dict") and "certificate_der" in errors.error_dict:
            errors.error_dict["certificate_file"] = errors.error_dict.pop("certificate_der")
        super()._update_errors(errors)  # type: ignore[misc]  # private ModelForm method, not in django-stubs
