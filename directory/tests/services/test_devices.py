import pytest

from django.core.exceptions import ValidationError

from directory.exceptions import DeviceStateChangeRefused, DeviceStillActive
from directory.models import Device, DeviceState, Platform
from directory.services.devices import device_create, device_delete, device_update
from directory.tests.factories import DeviceFactory, DirectoryUserFactory

pytestmark = pytest.mark.django_db


def test_device_create_checks_platform_and_mac():
    with pytest.raises(ValidationError) as exc_info:
        device_create(external_id="d1", name="PC", platform="windows", wifi_mac="xx")
    assert set(exc_info.value.message_dict) == {"platform", "wifi_mac"}
    assert not Device.objects.exists()


def test_device_update_changes_the_primary_user():
    device = DeviceFactory.create()
    other = DirectoryUserFactory.create()
    device_update(device=device, data={"primary_user": other, "os_version": "10.0.26100"})
    device.refresh_from_db()
    assert (device.primary_user, device.os_version) == (other, "10.0.26100")
    device_update(device=device, data={"primary_user": None})
    device.refresh_from_db()
    assert device.primary_user is None


def test_device_update_refuses_a_state_change():
    device = DeviceFactory.create(platform=Platform.IOS)
    with pytest.raises(DeviceStateChangeRefused):
        device_update(device=device, data={"state": DeviceState.RETIRED, "name": "new"})
    device.refresh_from_db()
    assert (device.state, device.name) == (DeviceState.ACTIVE, device.name)
    device_update(device=device, data={"state": DeviceState.ACTIVE})  # unchanged: fine


def test_device_delete_takes_a_retired_or_wiped_device():
    active = DeviceFactory.create()
    with pytest.raises(DeviceStillActive):
        device_delete(device=active)
    assert Device.objects.filter(pk=active.pk).exists()
    for state in (DeviceState.RETIRED, DeviceState.WIPED):
        device = DeviceFactory.create(state=state)
        device_delete(device=device)
        assert not Device.objects.filter(pk=device.pk).exists()
