"""Groups: create, update, delete, and their members (users for a user group, devices for a device group)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final

from django.db import transaction

from core.services import ModelUpdate, model_update
from directory.exceptions import GroupMemberKindMismatch
from directory.imports.rows import COLUMNS, MEMBERS_COLUMN
from directory.models import Device, DirectoryUser, Group, GroupKind
from directory.observers import directory_changed
from directory.selectors import Member
from directory.services.objects import object_create, object_delete

__all__ = [
    "GROUP_FIELDS",
    "group_create",
    "group_delete",
    "group_members_add",
    "group_members_remove",
    "group_members_set",
    "group_update",
]

#: The fields a caller may write (API, admin, import): the columns of a groups import row but members,
#: which have their own services.
GROUP_FIELDS: Final = tuple(column for column in COLUMNS["groups"] if column != MEMBERS_COLUMN)


def _split_members(
    members: Iterable[Member], *, kind: str, name: str
) -> tuple[list[DirectoryUser], list[Device]]:
    """The users and the devices among ``members``; refused unless all fit a group ``name`` of ``kind``."""
    members = list(members)
    users = [m for m in members if isinstance(m, DirectoryUser)]
    devices = [m for m in members if isinstance(m, Device)]
    wrong: list[Member] = list(devices) if kind == GroupKind.USER else list(users)
    if wrong:
        holds = "users" if kind == GroupKind.USER else "devices"
        label = str(dict(GroupKind.choices).get(kind, kind)).lower()
        names = ", ".join(str(m) for m in wrong[:5]) + (", ..." if len(wrong) > 5 else "")
        raise GroupMemberKindMismatch(
            f"{name} is a {label}: it holds only {holds}, not {names}",
            extra={"field": "members", "members": [m.external_id for m in wrong]},
        )
    return users, devices


def _touch(group: Group) -> None:
    group.save(update_fields=["updated_at"])


def _members_set(group: Group, users: list[DirectoryUser], devices: list[Device]) -> bool:
    before_users = set(group.users.values_list("pk", flat=True))
    before_devices = set(group.devices.values_list("pk", flat=True))
    after_users, after_devices = {u.pk for u in users}, {d.pk for d in devices}
    changed = before_users != after_users or before_devices != after_devices
    if changed:
        group.users.set(users)
        group.devices.set(devices)
        directory_changed(device_ids=before_devices ^ after_devices, user_ids=before_users ^ after_users)
    return changed


@transaction.atomic
def group_create(
    *, external_id: str, name: str, kind: str, description: str = "", members: Iterable[Member] = ()
) -> Group:
    group = object_create(
        model=Group,
        data={"external_id": external_id, "name": name, "kind": kind, "description": description},
    )
    _members_set(group, *_split_members(members, kind=group.kind, name=group.name))
    return group


@transaction.atomic
def group_update(
    *, group: Group, data: Mapping[str, Any], members: Iterable[Member] | None = None
) -> ModelUpdate[Group]:
    """Write the fields in ``data`` (any of ``GROUP_FIELDS``) and, when given, replace the members.

    Changing ``kind`` needs members of the new kind (or none): pass them in the same call. The members
    are replaced first, so that ``full_clean`` checks the new kind against them. ``changed`` names
    ``members`` too when they changed.
    """
    members_changed = False
    if members is not None:
        users, devices = _split_members(
            members, kind=data.get("kind", group.kind), name=data.get("name", group.name)
        )
        members_changed = _members_set(group, users, devices)
    update = model_update(instance=group, data=data, fields=GROUP_FIELDS)
    if not members_changed:
        return update
    if not update.has_changed:
        _touch(group)
    return ModelUpdate(instance=group, changed=(*update.changed, MEMBERS_COLUMN))


@transaction.atomic
def group_members_set(*, group: Group, members: Iterable[Member]) -> Group:
    """Make ``members`` the group's members (users for a user group, devices for a device group)."""
    if _members_set(group, *_split_members(members, kind=group.kind, name=group.name)):
        _touch(group)
    return group


@transaction.atomic
def group_members_add(*, group: Group, members: Iterable[Member]) -> Group:
    users, devices = _split_members(members, kind=group.kind, name=group.name)
    if group.kind == GroupKind.USER:
        new: set[int] = {u.pk for u in users} - set(group.users.values_list("pk", flat=True))
        group.users.add(*users)
        directory_changed(user_ids=new)
    else:
        new = {d.pk for d in devices} - set(group.devices.values_list("pk", flat=True))
        group.devices.add(*devices)
        directory_changed(device_ids=new)
    if new:
        _touch(group)
    return group


@transaction.atomic
def group_members_remove(*, group: Group, members: Iterable[Member]) -> Group:
    """Remove members; those that are not members are ignored, those of the wrong kind are refused."""
    users, devices = _split_members(members, kind=group.kind, name=group.name)
    if group.kind == GroupKind.USER:
        leaving = set(group.users.filter(pk__in=[u.pk for u in users]).values_list("pk", flat=True))
        group.users.remove(*users)
        directory_changed(user_ids=leaving)
    else:
        leaving = set(group.devices.filter(pk__in=[d.pk for d in devices]).values_list("pk", flat=True))
        group.devices.remove(*devices)
        directory_changed(device_ids=leaving)
    if leaving:
        _touch(group)
    return group


@transaction.atomic
def group_delete(*, group: Group) -> None:
    directory_changed(
        device_ids=group.devices.values_list("pk", flat=True),
        user_ids=group.users.values_list("pk", flat=True),
    )
    object_delete(instance=group)
