"""Assignment resolution (``profile_resolve_for_device``): Intune's include/exclude and platform rules."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from django.core.exceptions import ValidationError

from directory.models import Device, DeviceState, Group, GroupKind, Platform
from directory.tests.factories import DeviceFactory, DirectoryUserFactory, GroupFactory
from profiles.choices import AssignmentIntent, AssignmentTarget, CertificateState
from profiles.models import DeviceCertificateState, ScepProfile, TrustedRootProfile
from profiles.naming.variables import CertificateType
from profiles.selectors import Resolution, profile_resolve_for_device
from profiles.services.checkin import device_checkin
from profiles.tests.fixtures import assign

INCLUDE, EXCLUDE = AssignmentIntent.INCLUDE, AssignmentIntent.EXCLUDE
GROUP, ALL_USERS, ALL_DEVICES = (
    AssignmentTarget.GROUP,
    AssignmentTarget.ALL_USERS,
    AssignmentTarget.ALL_DEVICES,
)


@dataclass
class World:
    """Alice (in "users") has two iPhones, one of them in "excluded devices"; Bob's iPhone is in "kiosks";
    a shared iPad has no primary user and is in "kiosks" too; Alice also has an Android phone."""

    groups: dict[str, Group]
    devices: dict[str, Device]
    profile: ScepProfile
    root: TrustedRootProfile


@pytest.fixture
def world(make_profile, root_profile) -> World:
    alice = DirectoryUserFactory.create(user_name="alice")
    bob = DirectoryUserFactory.create(user_name="bob")
    devices = {
        "alice-iphone": DeviceFactory.create(platform=Platform.IOS, primary_user=alice),
        "alice-iphone-2": DeviceFactory.create(platform=Platform.IOS, primary_user=alice),
        "bob-iphone": DeviceFactory.create(platform=Platform.IOS, primary_user=bob),
        "shared-ipad": DeviceFactory.create(platform=Platform.IOS, primary_user=None),
        "alice-android": DeviceFactory.create(platform=Platform.ANDROID, primary_user=alice),
    }
    groups = {
        "users": GroupFactory.create(kind=GroupKind.USER, members=[alice]),
        "bob": GroupFactory.create(kind=GroupKind.USER, members=[bob]),
        "kiosks": GroupFactory.create(
            kind=GroupKind.DEVICE, members=[devices["bob-iphone"], devices["shared-ipad"]]
        ),
        "excluded devices": GroupFactory.create(kind=GroupKind.DEVICE, members=[devices["alice-iphone-2"]]),
    }
    # A device certificate, so that a device without a primary user can have it too.
    profile = make_profile(
        certificate_type=CertificateType.DEVICE,
        subject_name_format_string="CN={{SerialNumber}}",
        subject_alternative_names=[],
    )
    return World(groups=groups, devices=devices, profile=profile, root=root_profile)


IOS_DEVICES = ("alice-iphone", "alice-iphone-2", "bob-iphone", "shared-ipad")


@pytest.mark.parametrize(
    ("assignments", "expected"),
    [
        pytest.param(
            [(GROUP, "users", INCLUDE)],
            {"alice-iphone", "alice-iphone-2"},
            id="user group: every device of the user",
        ),
        pytest.param([(GROUP, "kiosks", INCLUDE)], {"bob-iphone", "shared-ipad"}, id="device group"),
        pytest.param(
            [(ALL_USERS, None, INCLUDE)], {"alice-iphone", "alice-iphone-2", "bob-iphone"}, id="all users"
        ),
        pytest.param([(ALL_DEVICES, None, INCLUDE)], set(IOS_DEVICES), id="all devices"),
        pytest.param(
            [(ALL_DEVICES, None, INCLUDE), (GROUP, "kiosks", EXCLUDE)],
            {"alice-iphone", "alice-iphone-2"},
            id="device-group exclusion wins over all devices",
        ),
        pytest.param(
            [(GROUP, "users", INCLUDE), (GROUP, "excluded devices", EXCLUDE)],
            {"alice-iphone"},
            id="device-group exclusion wins over user-group inclusion",
        ),
        pytest.param(
            [(ALL_USERS, None, INCLUDE), (GROUP, "users", EXCLUDE)],
            {"bob-iphone"},
            id="user-group exclusion wins over all users",
        ),
        pytest.param(
            [(GROUP, "kiosks", INCLUDE), (GROUP, "bob", EXCLUDE)],
            {"shared-ipad"},
            id="user-group exclusion wins over device-group inclusion",
        ),
        pytest.param([(GROUP, "users", EXCLUDE)], set(), id="exclusion alone assigns nothing"),
    ],
)
def test_assignment_reaches_exactly(world, assignments, expected):
    for target, group_name, intent in assignments:
        group = world.groups[group_name] if group_name else None
        assign(world.profile, group, target=target, intent=intent)
        assign(world.root, group, target=target, intent=intent)

    reached = set()
    for name in IOS_DEVICES:
        resolution = profile_resolve_for_device(device=world.devices[name])
        applied = [(item.profile, item.problem) for item in resolution.scep_profiles]
        if applied:
            assert applied == [(world.profile, "")], name
            assert resolution.trusted_roots == (world.root,), name
            reached.add(name)
        else:
            assert resolution.trusted_roots == (), name
        assert resolution.not_applicable == (), name
    assert reached == expected


def test_a_group_is_either_included_or_excluded(world):
    assign(world.profile, world.groups["users"])
    with pytest.raises(ValidationError) as excinfo:
        assign(world.profile, world.groups["users"], intent=EXCLUDE)
    assert excinfo.value.message_dict == {
        "__all__": ["this target is already assigned to the profile (include or exclude)"]
    }


def test_only_groups_can_be_excluded(world):
    with pytest.raises(ValidationError) as excinfo:
        assign(world.profile, target=ALL_USERS, intent=EXCLUDE)
    assert excinfo.value.message_dict == {"intent": ["only groups can be excluded"]}


def test_profile_of_another_platform_is_not_applicable(world):
    assign(world.profile, world.groups["users"])
    assign(world.root, world.groups["users"])
    android = world.devices["alice-android"]

    resolution = profile_resolve_for_device(device=android)

    assert resolution.scep_profiles == ()
    assert resolution.trusted_roots == ()
    assert resolution.not_applicable == (world.profile,)


def test_checkin_records_not_applicable_for_a_targeted_device_of_another_platform(world):
    assign(world.profile, world.groups["users"])
    assign(world.root, world.groups["users"])
    android = world.devices["alice-android"]

    result = device_checkin(device=android)

    assert result.scep == ()
    assert result.trusted_roots == ()
    state = DeviceCertificateState.objects.get(device=android, profile=world.profile)
    assert state.state == CertificateState.NOT_APPLICABLE
    assert state.reason == "the profile is for iOS, the device is Android"


def test_untargeted_device_of_another_platform_gets_no_state(world):
    assign(world.profile, world.groups["kiosks"])
    device_checkin(device=world.devices["alice-android"])
    assert not DeviceCertificateState.objects.filter(device=world.devices["alice-android"]).exists()


@pytest.mark.parametrize("state", [DeviceState.RETIRED, DeviceState.WIPED])
def test_retired_or_wiped_devices_get_nothing(world, state):
    assign(world.profile, target=ALL_DEVICES)
    assign(world.root, target=ALL_DEVICES)
    device = world.devices["alice-iphone"]
    device.state = state
    device.save()

    assert profile_resolve_for_device(device=device) == Resolution()
    assert device_checkin(device=device).scep == ()


def test_scep_profile_without_its_root_profile_assigned_has_a_problem(world):
    assign(world.profile, world.groups["users"])

    resolution = profile_resolve_for_device(device=world.devices["alice-iphone"])

    (applied,) = resolution.scep_profiles
    assert applied.profile == world.profile
    assert applied.problem == (
        "trusted certificate profile 'Test Root CA (iOS)' is not assigned to this device; "
        "assign it with the SCEP profile"
    )
    assert resolution.trusted_roots == ()


def test_scep_profile_whose_root_profile_is_excluded_has_a_problem(world):
    assign(world.profile, target=ALL_DEVICES)
    assign(world.root, target=ALL_DEVICES)
    assign(world.root, world.groups["kiosks"], intent=EXCLUDE)

    kiosk = profile_resolve_for_device(device=world.devices["shared-ipad"])
    other = profile_resolve_for_device(device=world.devices["alice-iphone"])

    assert kiosk.scep_profiles[0].problem.startswith(
        "trusted certificate profile 'Test Root CA (iOS)' is not assigned"
    )
    assert other.scep_profiles[0].problem == ""


def test_root_assigned_through_another_group_than_the_scep_profile_is_enough(world):
    assign(world.profile, world.groups["users"])
    assign(world.root, target=ALL_DEVICES)

    (applied,) = profile_resolve_for_device(device=world.devices["alice-iphone"]).scep_profiles

    assert applied.problem == ""


def test_user_certificate_on_a_device_without_primary_user_has_a_problem(world, make_profile):
    user_profile = make_profile(name="User certificate")
    assign(user_profile, target=ALL_DEVICES)
    assign(world.root, target=ALL_DEVICES)

    shared = profile_resolve_for_device(device=world.devices["shared-ipad"])
    personal = profile_resolve_for_device(device=world.devices["alice-iphone"])

    assert [(a.profile, a.problem) for a in shared.scep_profiles] == [
        (user_profile, "a user certificate needs a device with a primary user")
    ]
    assert [(a.profile, a.problem) for a in personal.scep_profiles] == [(user_profile, "")]


def test_checkin_marks_a_profile_with_a_problem_failed(world):
    assign(world.profile, world.groups["users"])
    device = world.devices["alice-iphone"]

    (delivery,) = device_checkin(device=device).scep

    assert delivery.challenge == ""
    assert delivery.problem.startswith("trusted certificate profile 'Test Root CA (iOS)' is not assigned")
    state = DeviceCertificateState.objects.get(device=device, profile=world.profile)
    assert (state.state, state.reason) == (CertificateState.FAILED, delivery.problem)
