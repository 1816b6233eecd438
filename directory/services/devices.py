"""Devices: create, update, delete. Retiring and wiping are the profiles services' (they revoke)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from django.db import transaction

from core.services import ModelUpdate, model_update
from directory.exceptions import DeviceStateChangeRefused, DeviceStillActive
from directory.imports.rows import COLUMNS
from directory.models import Device, DeviceState, DirectoryUser
from directory.observers import directory_changed
from directory.services.objects import object_create, object_delete

__all__ = ["DEVICE_FIELDS", "device_create", "device_delete", "device_update"]

#: The fields a caller may write (API, admin, import): the columns of a devices import row.
DEVICE_FIELDS: Final = COLUMNS["devices"]


@transaction.atomic
def device_create(
    *,
    external_id: str,
    name: str,
    platform: str,
    os_version: str = "",
    serial_number: str = "",
    imei: str = "",
    meid: str = "",
    aad_device_id: str = "",
    wifi_mac: str = "",
    fqdn: str = "",
    domain_joined: bool = False,
    primary_user: DirectoryUser | None = None,
    state: str = DeviceState.ACTIVE,
) -> Device:
    return object_create(
        model=Device,
        data={
            "external_id": external_id,
            "name": name,
            "platform": platform,
            "os_version": os_version,
            "serial_number": serial_number,
            "imei": imei,
            "meid": meid,
            "aad_device_id": aad_device_id,
            "wifi_mac": wifi_mac,
            "fqdn": fqdn,
            "domain_joined": domain_joined,
            "primary_user": primary_user,
            "state": state,
        },
    )


@transaction.atomic
def device_update(*, device: Device, data: Mapping[str, Any]) -> ModelUpdate[Device]:
    """Write the fields in ``data`` (any of ``DEVICE_FIELDS``, ``primary_user`` as a DirectoryUser or None).

    ``state`` may be given only with the device's current value (retire/wipe are profiles services).
    """
    if "state" in data and data["state"] != device.state:
        raise DeviceStateChangeRefused(
            f"the state of {device} cannot be changed from {device.state} to {data['state']} here; "
            "retiring or wiping a device revokes its certificates and goes through the profiles services",
            extra={"field": "state"},
        )
    update = model_update(instance=device, data=data, fields=DEVICE_FIELDS)
    if "primary_user" in update.changed:
        directory_changed(device_ids=[device.pk])  # user groups now reach it, or no longer do
    return update


@transaction.atomic
def device_delete(*, device: Device) -> None:
    """Delete a retired or wiped device.

    An active device is refused: deleting it would drop the records binding it to its certificates
    (profiles) without revoking them. Retire or wipe it first; that revokes them.
    """
    if device.is_active:
        raise DeviceStillActive(
            f"{device} is active; retire or wipe it first (that revokes its certificates), then delete it"
        )
    object_delete(instance=device)
