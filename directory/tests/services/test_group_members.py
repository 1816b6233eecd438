import pytest

from django.core.exceptions import ValidationError

from directory.exceptions import GroupMemberKindMismatch
from directory.models import Group, GroupKind
from directory.services.groups import (
    group_create,
    group_members_add,
    group_members_remove,
    group_members_set,
    group_update,
)
from directory.tests.factories import DeviceFactory, DirectoryUserFactory, GroupFactory

pytestmark = pytest.mark.django_db


def test_group_create_with_members():
    users = DirectoryUserFactory.create_batch(2)
    group = group_create(external_id="g1", name="Staff", kind=GroupKind.USER, members=users)
    assert set(group.users.all()) == set(users)
    assert not group.devices.exists()


def test_user_group_refuses_devices():
    user = DirectoryUserFactory.create()
    device = DeviceFactory.create(primary_user=user)
    with pytest.raises(GroupMemberKindMismatch) as exc_info:
        group_create(external_id="g1", name="Staff", kind=GroupKind.USER, members=[user, device])
    assert exc_info.value.extra == {"field": "members", "members": [device.external_id]}
    assert not Group.objects.exists()


def test_device_group_refuses_users():
    group = GroupFactory.create(kind=GroupKind.DEVICE)
    user = DirectoryUserFactory.create()
    for service in (group_members_set, group_members_add, group_members_remove):
        with pytest.raises(GroupMemberKindMismatch, match="holds only devices"):
            service(group=group, members=[user])
    assert not group.users.exists()


def test_members_set_replaces_and_touches_the_group():
    old, new = DirectoryUserFactory.create_batch(2)
    group = GroupFactory.create(members=[old])
    updated_at = group.updated_at
    group_members_set(group=group, members=[new])
    group.refresh_from_db()
    assert list(group.users.all()) == [new]
    assert group.updated_at > updated_at


def test_members_set_with_the_same_members_changes_nothing():
    user = DirectoryUserFactory.create()
    group = GroupFactory.create(members=[user])
    updated_at = Group.objects.get(pk=group.pk).updated_at
    group_members_set(group=group, members=[user])
    assert Group.objects.get(pk=group.pk).updated_at == updated_at


def test_members_add_and_remove():
    devices = DeviceFactory.create_batch(3)
    group = GroupFactory.create(kind=GroupKind.DEVICE, members=devices[:1])
    group_members_add(group=group, members=devices)
    assert group.devices.count() == 3
    group_members_remove(group=group, members=devices[:2])
    assert list(group.devices.all()) == devices[2:]
    group_members_remove(group=group, members=devices[:2])  # not members any more: ignored
    assert group.devices.count() == 1


def test_kind_change_needs_members_of_the_new_kind():
    group = GroupFactory.create(kind=GroupKind.USER, members=[DirectoryUserFactory.create()])
    with pytest.raises(ValidationError) as exc_info:
        group_update(group=group, data={"kind": GroupKind.DEVICE})
    assert exc_info.value.message_dict == {"kind": ["a device group cannot contain users"]}
    assert Group.objects.get(pk=group.pk).kind == GroupKind.USER

    device = DeviceFactory.create()
    group_update(group=Group.objects.get(pk=group.pk), data={"kind": GroupKind.DEVICE}, members=[device])
    group.refresh_from_db()
    assert group.kind == GroupKind.DEVICE
    assert (list(group.devices.all()), group.users.count()) == ([device], 0)
