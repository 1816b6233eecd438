"""Save-time rules of SCEP profiles (profiles.validation): the model's own (``full_clean``) and those that
read the rows a profile refers to, as ``scep_profile_validate`` (the services) reports them together.
"""

from __future__ import annotations

from typing import Any

import pytest

from cryptography.hazmat.primitives.serialization import Encoding

from django.core.exceptions import ValidationError

from ca.models import CertificateTemplate
from directory.models import Platform
from profiles.models import ScepProfile, TrustedRootProfile
from profiles.naming.variables import CertificateType
from profiles.options import KeyStorageProvider, ValidityScale
from profiles.services.profiles import scep_profile_validate, trusted_root_profile_create
from profiles.tests.fixtures import profile_fields

DEVICE_PLATFORMS_MESSAGE = (
    "device certificates are available on iOS, Windows 8.1 and later, Windows 10 and later"
)
APPLE_VALIDITY_MESSAGE = "iOS and macOS always use the validity period of the certificate template"


def errors(profile: ScepProfile) -> dict[str, list[str]]:
    """What scep_profile_create / scep_profile_update would refuse ``profile`` with, by field."""
    try:
        scep_profile_validate(profile=profile)
    except ValidationError as exc:
        return exc.message_dict
    return {}


def scep_profile(pki, root_profile, **overrides: Any) -> ScepProfile:
    return ScepProfile(**profile_fields(pki, root_profile, **overrides))


@pytest.fixture
def template_with_requester_validity(pki) -> CertificateTemplate:
    template = CertificateTemplate.objects.create(
        name="RequesterValidity",
        display_name="Requester validity",
        allow_requester_validity=True,
        validity_days=365,
    )
    pki.issuing.published_templates.add(template)
    return template


def root_for(pki, platform: str) -> TrustedRootProfile:
    return trusted_root_profile_create(authority=pki.root, name=f"Root CA ({platform})", platform=platform)


def test_the_default_ios_user_profile_is_valid(pki, root_profile):
    assert errors(scep_profile(pki, root_profile)) == {}


@pytest.mark.parametrize(
    ("platform", "expected"),
    [
        (Platform.IOS, {}),
        (Platform.WINDOWS_81, {}),
        (Platform.WINDOWS_10, {}),
        (Platform.ANDROID, {"certificate_type": [DEVICE_PLATFORMS_MESSAGE]}),
        (Platform.ANDROID_ENTERPRISE, {"certificate_type": [DEVICE_PLATFORMS_MESSAGE]}),
        (Platform.MACOS, {"certificate_type": [DEVICE_PLATFORMS_MESSAGE]}),
        (Platform.WINDOWS_PHONE_81, {"certificate_type": [DEVICE_PLATFORMS_MESSAGE]}),
    ],
)
def test_device_certificates_only_on_ios_and_windows_81_and_10(pki, platform, expected):
    profile = scep_profile(
        pki,
        root_for(pki, platform),
        platform=platform,
        certificate_type=CertificateType.DEVICE,
        subject_name_format_string="CN={{SerialNumber}}",
        subject_alternative_names=[{"type": "dns", "value": "{{DeviceName}}.devices.example.com"}],
    )
    assert errors(profile) == expected


@pytest.mark.parametrize(
    ("certificate_type", "subject", "message"),
    [
        (CertificateType.USER, "CN={{Nope}}", "unknown variable {{Nope}} in the CN value"),
        (
            CertificateType.USER,
            "CN=a{b",
            'curly brackets not enclosing a variable in the CN value: "{b" '
            "(variables are written {{Name}}; other curly brackets are not allowed)",
        ),
        (CertificateType.USER, "CN=a}b", 'curly brackets not enclosing a variable in the CN value: "a}"'),
        (
            CertificateType.DEVICE,
            "CN={{UserName}}",
            "{{UserName}} in the CN value is a user variable; "
            "a device certificate may only use device variables",
        ),
    ],
)
def test_custom_subject_format_errors_are_on_the_format_string(
    pki, root_profile, certificate_type, subject, message
):
    profile = scep_profile(
        pki,
        root_profile,
        certificate_type=certificate_type,
        subject_name_format_string=subject,
        subject_alternative_names=[],
    )
    assert errors(profile) == {"subject_name_format_string": [message]}


def test_custom_subject_format_must_not_be_empty(pki, root_profile):
    profile = scep_profile(pki, root_profile, subject_name_format_string="")
    assert errors(profile) == {
        "subject_name_format_string": [
            "enter the custom subject name format",
            "the custom subject name format is empty",
        ]
    }


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            "a|b.example.com",
            "'|' is not allowed in the static text of the DNS subject alternative name (entry 1)",
        ),
        (
            "a;b.example.com",
            "';' is not allowed in the static text of the DNS subject alternative name (entry 1)",
        ),
        (
            "a{b.example.com",
            "curly brackets not enclosing a variable in the DNS subject alternative name (entry 1): "
            '"{b.example.com" '
            "(variables are written {{Name}}; other curly brackets are not allowed)",
        ),
        (
            "a}b.example.com",
            'curly brackets not enclosing a variable in the DNS subject alternative name (entry 1): "a}"',
        ),
    ],
)
def test_san_static_text_refuses_braces_pipes_and_semicolons(pki, root_profile, value, message):
    profile = scep_profile(pki, root_profile, subject_alternative_names=[{"type": "dns", "value": value}])
    assert errors(profile) == {"subject_alternative_names": [message]}


def test_a_san_with_a_variable_and_static_text_is_accepted(pki, root_profile):
    profile = scep_profile(
        pki,
        root_profile,
        certificate_type=CertificateType.DEVICE,
        subject_name_format_string="CN={{SerialNumber}}",
        subject_alternative_names=[{"type": "dns", "value": "{{DeviceName}}.devices.example.com"}],
    )
    assert errors(profile) == {}


@pytest.mark.parametrize(
    ("certificate_type", "subject", "san"),
    [
        (CertificateType.USER, "CN={{UserName}}", {"type": "dns", "value": "{{DeviceName}}.example.com"}),
        (CertificateType.DEVICE, "CN={{SerialNumber}}", {"type": "email", "value": "it@example.com"}),
        (CertificateType.DEVICE, "CN={{SerialNumber}}", {"type": "uri", "value": "https://example.com/x"}),
        (
            CertificateType.USER,
            "CN={{UserName}}",
            {"type": "uri", "value": "https://example.com/{{UserName}}"},
        ),
    ],
)
def test_san_types_follow_the_certificate_type(pki, root_profile, certificate_type, subject, san, settings):
    profile = scep_profile(
        pki,
        root_profile,
        certificate_type=certificate_type,
        subject_name_format_string=subject,
        subject_alternative_names=[san],
    )
    (message,) = errors(profile)["subject_alternative_names"]
    assert message.startswith(f"a {certificate_type.value} certificate's subject alternative names are ")
    settings.CERTPORTAL_PROFILE_ANY_SAN_TYPE = True  # the documented wider set
    assert errors(profile) == {}


def test_validity_within_a_template_that_allows_requester_validity_is_accepted(
    pki, template_with_requester_validity
):
    profile = scep_profile(
        pki,
        root_for(pki, Platform.WINDOWS_10),
        platform=Platform.WINDOWS_10,
        template=template_with_requester_validity,
        validity_value=6,
        validity_scale=ValidityScale.MONTHS,
    )
    assert errors(profile) == {}
    assert profile.validity_days == 180


def test_validity_is_refused_when_the_template_does_not_allow_requester_validity(pki):
    profile = scep_profile(
        pki,
        root_for(pki, Platform.WINDOWS_10),
        platform=Platform.WINDOWS_10,
        validity_value=6,
        validity_scale=ValidityScale.MONTHS,
    )
    assert errors(profile) == {
        "validity_value": ["template TestClientAuth does not let the requester choose the validity"]
    }


def test_validity_above_the_template_is_refused(pki, template_with_requester_validity):
    profile = scep_profile(
        pki,
        root_for(pki, Platform.WINDOWS_10),
        platform=Platform.WINDOWS_10,
        template=template_with_requester_validity,
        validity_value=2,
        validity_scale=ValidityScale.YEARS,
    )
    assert errors(profile) == {"validity_value": ["730 days is above the template's validity of 365 days"]}


@pytest.mark.parametrize("platform", [Platform.IOS, Platform.MACOS])
def test_validity_is_refused_for_ios_and_macos(pki, template_with_requester_validity, platform):
    profile = scep_profile(
        pki,
        root_for(pki, platform),
        platform=platform,
        template=template_with_requester_validity,
        validity_value=6,
        validity_scale=ValidityScale.MONTHS,
    )
    assert errors(profile) == {"validity_value": [APPLE_VALIDITY_MESSAGE]}


def test_validity_needs_both_value_and_unit(pki, root_profile):
    profile = scep_profile(pki, root_profile, validity_value=6)
    assert errors(profile) == {"validity_value": ["enter both the validity period and its unit, or neither"]}


def test_unknown_validity_scale_is_a_field_error(pki, root_profile):
    profile = scep_profile(pki, root_profile, validity_value=3, validity_scale="weeks")
    assert set(errors(profile)) == {"validity_scale"}


def test_key_storage_provider_only_on_windows(pki, root_profile):
    ios = scep_profile(pki, root_profile, key_storage_provider=KeyStorageProvider.SOFTWARE)
    windows = scep_profile(
        pki,
        root_for(pki, Platform.WINDOWS_10),
        platform=Platform.WINDOWS_10,
        key_storage_provider=KeyStorageProvider.SOFTWARE,
    )
    assert errors(ios) == {"key_storage_provider": ["the key storage provider applies to Windows only"]}
    assert errors(windows) == {}


def test_key_size_below_the_template_minimum_is_refused(pki, root_profile):
    profile = scep_profile(pki, root_profile, key_size=1024)
    assert errors(profile) == {
        "key_size": ["template TestClientAuth requires RSA keys of at least 2048 bits"]
    }


def test_eku_outside_the_template_application_policies_is_refused(pki, root_profile):
    profile = scep_profile(
        pki, root_profile, extended_key_usages=[{"name": "Server Authentication", "oid": "1.3.6.1.5.5.7.3.1"}]
    )
    assert errors(profile) == {
        "extended_key_usages": ["not in template TestClientAuth's application policies: 1.3.6.1.5.5.7.3.1"]
    }


def test_key_usage_the_template_does_not_allow_is_refused(pki, root_profile):
    pki.template.key_encipherment = False
    pki.template.save()
    profile = scep_profile(pki, root_profile, key_usage_key_encipherment=True)
    assert errors(profile) == {
        "key_usage_key_encipherment": [
            "template TestClientAuth does not allow key encipherment: certificates would lack it"
        ]
    }
    pki.template.key_encipherment, pki.template.digital_signature = True, False
    pki.template.save()
    profile = scep_profile(
        pki, root_profile, key_usage_key_encipherment=False, key_usage_digital_signature=True
    )
    assert errors(profile) == {
        "key_usage_digital_signature": [
            "template TestClientAuth does not allow digital signature: certificates would lack it"
        ]
    }


def test_malformed_hash_algorithms_are_a_field_error(pki, root_profile):
    profile = scep_profile(pki, root_profile, platform=Platform.ANDROID, hash_algorithms=[["sha2"]])
    assert "hash_algorithms" in errors(profile)


def test_the_template_must_be_published_to_the_ca(pki, root_profile):
    unpublished = CertificateTemplate.objects.create(name="Unpublished", display_name="Not on the CA")
    profile = scep_profile(pki, root_profile, template=unpublished)
    assert errors(profile) == {"template": ["CA Test Issuing CA does not issue template Unpublished"]}


@pytest.mark.parametrize("platform", [Platform.IOS, Platform.MACOS])
def test_non_repudiation_template_is_refused_for_apple(pki, platform):
    template = CertificateTemplate.objects.create(
        name="ProofOfOrigin", display_name="x", non_repudiation=True
    )
    pki.issuing.published_templates.add(template)
    profile = scep_profile(pki, root_for(pki, platform), platform=platform, template=template)
    assert errors(profile) == {
        "template": ["for iOS and macOS the template must not set 'signature is proof of origin'"]
    }


def test_non_repudiation_template_is_accepted_for_windows(pki):
    template = CertificateTemplate.objects.create(
        name="ProofOfOrigin", display_name="x", non_repudiation=True
    )
    pki.issuing.published_templates.add(template)
    profile = scep_profile(
        pki, root_for(pki, Platform.WINDOWS_10), platform=Platform.WINDOWS_10, template=template
    )
    assert errors(profile) == {}


def test_the_model_checks_its_own_values_and_the_services_the_rows_it_refers_to(pki, root_profile):
    unpublished = CertificateTemplate.objects.create(name="Unpublished", display_name="Not on the CA")
    profile = scep_profile(
        pki, root_profile, template=unpublished, key_storage_provider=KeyStorageProvider.SOFTWARE
    )
    with pytest.raises(ValidationError) as model:
        profile.full_clean()
    assert model.value.message_dict == {
        "key_storage_provider": ["the key storage provider applies to Windows only"]
    }
    assert errors(profile) == {
        "key_storage_provider": ["the key storage provider applies to Windows only"],
        "template": ["CA Test Issuing CA does not issue template Unpublished"],
    }


def test_root_profile_of_another_platform_is_refused(pki):
    profile = scep_profile(pki, root_for(pki, Platform.WINDOWS_10))
    assert errors(profile) == {
        "root_profile": ["the trusted certificate profile is for Windows 10 and later"]
    }


def test_root_profile_that_is_not_the_root_of_the_issuing_chain_is_refused(pki, crypto_chain):
    unrelated = trusted_root_profile_create(
        certificate_der=crypto_chain.root.public_bytes(Encoding.DER),
        name="Unrelated root",
        platform=Platform.IOS,
    )
    profile = scep_profile(pki, unrelated)
    assert errors(profile) == {
        "root_profile": [
            "its certificate is not the root of Test Issuing CA's chain (CN=Test Root CA,O=certportal tests)"
        ]
    }


def test_root_profile_holding_the_issuing_ca_instead_of_the_root_is_refused(pki):
    intermediate = trusted_root_profile_create(
        authority=pki.issuing, name="Issuing CA", platform=Platform.IOS
    )
    profile = scep_profile(pki, intermediate)
    assert errors(profile) == {
        "root_profile": [
            "its certificate is not the root of Test Issuing CA's chain (CN=Test Root CA,O=certportal tests)"
        ]
    }


def test_strong_mapping_needs_a_user_certificate(pki, root_profile):
    profile = scep_profile(
        pki,
        root_profile,
        certificate_type=CertificateType.DEVICE,
        subject_name_format_string="CN={{SerialNumber}}",
        subject_alternative_names=[],
        include_sid_extension=True,
    )
    assert errors(profile) == {
        "include_sid_extension": [
            "the SID of strong mapping is the user's, or for a device certificate a hybrid-joined Windows "
            "device's: use a user certificate, or a Windows platform"
        ]
    }
