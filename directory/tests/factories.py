"""factory_boy factories. Call ``.create()`` / ``.create_batch()``: those are typed to return models."""

from __future__ import annotations

from typing import Any

from factory.declarations import LazyAttribute, Sequence, SubFactory
from factory.django import DjangoModelFactory
from factory.faker import Faker
from factory.helpers import post_generation

from directory.models import Device, DirectoryUser, Group, GroupKind, Platform


class DirectoryUserFactory(DjangoModelFactory[DirectoryUser]):
    class Meta:
        model = DirectoryUser

    external_id = Faker("uuid4")
    user_principal_name = Sequence(lambda n: f"user{n}@corp.example.com")
    display_name = Faker("name")
    email = LazyAttribute(lambda user: user.user_principal_name)
    department = "Finance"


class DeviceFactory(DjangoModelFactory[Device]):
    class Meta:
        model = Device

    external_id = Faker("uuid4")
    name = Sequence(lambda n: f"PC-{n:04d}")
    platform = Platform.WINDOWS_10
    os_version = "10.0.22631"
    serial_number = Sequence(lambda n: f"SN{n:06d}")
    primary_user = SubFactory(DirectoryUserFactory)


class GroupFactory(DjangoModelFactory[Group]):
    class Meta:
        model = Group
        skip_postgeneration_save = True

    external_id = Faker("uuid4")
    name = Sequence(lambda n: f"Group {n}")
    kind = GroupKind.USER

    members = post_generation(lambda group, create, extracted, **_: _add_members(group, create, extracted))


def _add_members(group: Group, create: bool, extracted: Any) -> None:
    """``GroupFactory.create(members=[...])``: users for a user group, devices for a device group."""
    if create and extracted:
        if group.kind == GroupKind.USER:
            group.users.add(*extracted)
        else:
            group.devices.add(*extracted)
