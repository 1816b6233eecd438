"""profiles.services.profiles: versions, and trusted certificate profiles (the fields that follow from the
certificate, their model rules, one profile per platform and root).
"""

from __future__ import annotations

import pytest

from cryptography.hazmat.primitives.serialization import Encoding

from django.core.exceptions import ValidationError

from directory.models import Platform
from profiles.models import ScepProfile, TrustedRootProfile
from profiles.services.profiles import (
    scep_profile_update,
    trusted_root_profile_create,
    trusted_root_profile_update,
)
from profiles.tests.certificates import self_signed_leaf


def model_errors(instance: TrustedRootProfile) -> dict[str, list[str]]:
    try:
        instance.full_clean()
    except ValidationError as exc:
        return exc.message_dict
    return {}


# --- versions ---------------------------------------------------------------------------------------------


def test_updating_a_scep_profile_bumps_its_version(scep_profile):
    assert scep_profile.version == 1
    first = scep_profile_update(profile=scep_profile, description="now with a description").version
    second = scep_profile_update(profile=scep_profile, key_size=4096).version
    assert (first, second) == (2, 3)
    assert ScepProfile.objects.get(pk=scep_profile.pk).version == 3


def test_an_update_that_changes_nothing_keeps_the_version(scep_profile, root_profile):
    scep_profile_update(profile=scep_profile, key_size=scep_profile.key_size, name=scep_profile.name)
    trusted_root_profile_update(profile=root_profile, description=root_profile.description)
    assert ScepProfile.objects.get(pk=scep_profile.pk).version == 1
    assert TrustedRootProfile.objects.get(pk=root_profile.pk).version == 1


def test_an_invalid_update_neither_saves_nor_bumps_the_version(scep_profile):
    with pytest.raises(ValidationError) as info:
        scep_profile_update(profile=scep_profile, key_size=1024)
    assert info.value.message_dict == {
        "key_size": ["template TestClientAuth requires RSA keys of at least 2048 bits"]
    }
    scep_profile.refresh_from_db()
    assert (scep_profile.version, scep_profile.key_size) == (1, 2048)


def test_updating_a_trusted_root_profile_bumps_its_version(root_profile):
    updated = trusted_root_profile_update(profile=root_profile, description="the corporate root")
    assert updated.version == 2
    assert TrustedRootProfile.objects.get(pk=root_profile.pk).version == 2


# --- trusted certificate profiles -----------------------------------------------------------------------


def test_trusted_root_profile_records_the_certificate(pki):
    profile = trusted_root_profile_create(authority=pki.root, name="Root", platform=Platform.WINDOWS_10)
    assert profile.thumbprint_sha1 == pki.root.fingerprint_sha1
    assert profile.subject == "CN=Test Root CA,O=certportal tests"
    assert profile.not_after == pki.root.not_after
    assert profile.certificate_file_name == "Root.cer"
    assert profile.destination_store == "computerCertStoreRoot"


def test_another_certificate_is_recorded_on_update(pki, root_profile):
    updated = trusted_root_profile_update(profile=root_profile, authority=pki.issuing)
    stored = TrustedRootProfile.objects.get(pk=root_profile.pk)
    assert (stored.thumbprint_sha1, stored.subject, stored.not_after) == (
        pki.issuing.fingerprint_sha1,
        pki.issuing.certificate.subject.rfc4514_string(),
        pki.issuing.not_after,
    )
    assert bytes(stored.certificate_der) == pki.issuing.certificate_der
    assert (updated.version, stored.version) == (2, 2)


def test_moving_a_trusted_root_profile_to_windows_sets_the_default_store(root_profile):
    assert root_profile.destination_store == ""
    trusted_root_profile_update(profile=root_profile, platform=Platform.WINDOWS_10)
    assert TrustedRootProfile.objects.get(pk=root_profile.pk).destination_store == "computerCertStoreRoot"


def test_trusted_root_profile_refuses_a_non_ca_certificate(db, rsa2048_key):
    leaf = self_signed_leaf(rsa2048_key)
    profile = TrustedRootProfile(
        name="Leaf", platform=Platform.IOS, certificate_der=leaf.public_bytes(Encoding.DER)
    )
    assert model_errors(profile) == {
        "certificate_der": ["a trusted certificate profile carries a CA certificate (CA:TRUE)"]
    }
    with pytest.raises(ValidationError) as info:
        trusted_root_profile_create(
            certificate_der=leaf.public_bytes(Encoding.DER), name="Leaf", platform=Platform.IOS
        )
    assert info.value.message_dict == model_errors(profile)
    assert not TrustedRootProfile.objects.exists()


def test_trusted_root_profile_refuses_bytes_that_are_not_a_certificate(db):
    profile = TrustedRootProfile(name="Junk", platform=Platform.IOS, certificate_der=b"not a certificate")
    (message,) = model_errors(profile)["certificate_der"]
    assert message.startswith("not a DER X.509 certificate: ")
    with pytest.raises(ValidationError) as info:
        trusted_root_profile_create(certificate_der=b"not a certificate", name="Junk", platform=Platform.IOS)
    assert info.value.message_dict == {"certificate_der": [message]}


def test_one_trusted_root_profile_per_platform_and_root(pki, root_profile):
    with pytest.raises(ValidationError) as info:
        trusted_root_profile_create(
            name="Same root again", platform=Platform.IOS, certificate_der=pki.root.certificate_der
        )
    assert info.value.message_dict == {
        "__all__": ["Trusted certificate profile with this Platform and Thumbprint sha1 already exists."]
    }
    other_platform = trusted_root_profile_create(
        name="Same root, Android", platform=Platform.ANDROID, certificate_der=pki.root.certificate_der
    )
    assert other_platform.thumbprint_sha1 == root_profile.thumbprint_sha1


def test_destination_store_is_windows_only(pki):
    profile = TrustedRootProfile(
        name="Root",
        platform=Platform.IOS,
        certificate_der=pki.root.certificate_der,
        destination_store="computerCertStoreRoot",
    )
    assert model_errors(profile) == {"destination_store": ["the destination store applies to Windows only"]}
