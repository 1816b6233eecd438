"""Reads of the directory that carry a rule: how rows and API calls refer to users and devices."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator
from itertools import islice
from typing import Final, TypeAlias

from django.db.models import Q, QuerySet

from directory.models import Device, DirectoryUser, Group, GroupKind

__all__ = ["Member", "device_resolve_many", "group_member_list", "member_resolve_many", "user_resolve_many"]

Member: TypeAlias = DirectoryUser | Device

_BATCH: Final = 500  # references per query, well under SQLite's variable limit


def _batched(items: Iterable[str], size: int) -> Iterator[list[str]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


def user_resolve_many(*, references: Collection[str]) -> dict[str, DirectoryUser]:
    """Users by reference: an ``external_id``, or a user principal name in any case.

    Returns the references that were found, each mapped to its user; the others are missing.
    """
    found: dict[str, DirectoryUser] = {}
    wanted = sorted(set(references))
    for batch in _batched(wanted, _BATCH):
        for user in DirectoryUser.objects.filter(Q(external_id__in=batch) | Q(user_principal_name__in=batch)):
            found[user.external_id] = user
            found[user.user_principal_name] = user
    for reference in wanted:  # UPNs are case-insensitive (Entra ID); the exact pass finds the usual case
        if reference not in found:
            match = DirectoryUser.objects.filter(user_principal_name__iexact=reference).first()
            if match is not None:
                found[reference] = match
    return {reference: found[reference] for reference in wanted if reference in found}


def device_resolve_many(*, references: Collection[str]) -> dict[str, Device]:
    """Devices by ``external_id`` (the Intune device ID)."""
    found: dict[str, Device] = {}
    for batch in _batched(sorted(set(references)), _BATCH):
        found.update(Device.objects.in_bulk(batch, field_name="external_id"))
    return found


def member_resolve_many(*, kind: str, references: Collection[str]) -> tuple[list[Member], list[str]]:
    """The members a group of ``kind`` refers to, in the given order, and the references not found."""
    lookup: dict[str, DirectoryUser] | dict[str, Device]
    if kind == GroupKind.USER:
        lookup = user_resolve_many(references=references)
    else:
        lookup = device_resolve_many(references=references)
    ordered = list(dict.fromkeys(references))
    members: list[Member] = [lookup[reference] for reference in ordered if reference in lookup]
    return list(dict.fromkeys(members)), [reference for reference in ordered if reference not in lookup]


def group_member_list(*, group: Group) -> QuerySet[DirectoryUser] | QuerySet[Device]:
    """The members of a group: its users for a user group, its devices for a device group."""
    if group.kind == GroupKind.USER:
        return group.users.order_by("user_principal_name")
    return group.devices.select_related("primary_user").order_by("name")
