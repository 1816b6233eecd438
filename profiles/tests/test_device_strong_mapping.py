"""Strong mapping (KB5014754) for device certificates of hybrid-joined Windows devices: the SID URI and the
SID extension carry the device's computer account SID; a device that is not domain-joined gets none.
"""

from __future__ import annotations

import pytest

from directory.models import GroupKind, Platform
from directory.tests.factories import DeviceFactory, GroupFactory
from profiles.models import DeviceChallenge
from profiles.naming.variables import CertificateType
from profiles.services.profiles import trusted_root_profile_create
from profiles.tests.fixtures import assign, delivery_for

DEVICE_SID = "S-1-5-21-1004336348-1177238915-682003330-4321"


@pytest.fixture
def windows_profile(pki, make_profile):
    root = trusted_root_profile_create(
        authority=pki.root, name="Root (Windows)", platform=Platform.WINDOWS_10
    )
    profile = make_profile(
        name="Windows device certificate",
        platform=Platform.WINDOWS_10,
        certificate_type=CertificateType.DEVICE,
        subject_name_format_string="CN={{DeviceName}}",
        subject_alternative_names=[{"type": "dns", "value": "{{FullyQualifiedDomainName}}"}],
        include_sid_uri=True,
        include_sid_extension=True,
        root_profile=root,
    )
    group = GroupFactory.create(kind=GroupKind.DEVICE)
    assign(profile, group)
    assign(root, group)
    return profile, group


def test_a_hybrid_joined_device_gets_its_own_sid_in_uri_and_extension(windows_profile):
    profile, group = windows_profile
    device = DeviceFactory.create(
        name="PC-7",
        platform=Platform.WINDOWS_10,
        domain_joined=True,
        fqdn="pc-7.corp.example.com",
        security_identifier=DEVICE_SID,
    )
    group.devices.add(device)

    delivery = delivery_for(device, profile)

    assert delivery.rendered is not None, delivery.problem
    sans = [str(name.value) for name in delivery.rendered.sans]
    assert sans == ["pc-7.corp.example.com", f"tag:microsoft.com,2022-09-14:sid:{DEVICE_SID}"]
    assert DeviceChallenge.objects.get(device=device).sid == DEVICE_SID


def test_a_device_that_is_not_domain_joined_gets_no_mapping(windows_profile):
    profile, group = windows_profile
    device = DeviceFactory.create(name="PC-8", platform=Platform.WINDOWS_10, security_identifier=DEVICE_SID)
    group.devices.add(device)

    delivery = delivery_for(device, profile)

    assert delivery.rendered is None
    assert "not a hybrid-joined Windows device" in delivery.problem or "domain" in delivery.problem
    assert not DeviceChallenge.objects.exists()
