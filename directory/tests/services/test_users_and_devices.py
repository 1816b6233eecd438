import pytest

from django.core.exceptions import ValidationError
from django.db.models import ProtectedError

from directory.exceptions import DeviceStateChangeRefused, DeviceStillActive, ObjectInUse
from directory.models import Device, DeviceState, DirectoryUser, Platform
from directory.services import (
    device_create,
    device_delete,
    device_update,
    user_create,
    user_delete,
    user_update,
)
from directory.tests.factories import DeviceFactory, DirectoryUserFactory

pytestmark = pytest.mark.django_db


def test_user_create_validates_the_model_and_the_sid():
    with pytest.raises(ValidationError) as exc_info:
        user_create(
            external_id="u1", user_principal_name="", email="nope", on_premises_security_identifier="S-1-x"
        )
    assert set(exc_info.value.message_dict) == {
        "user_principal_name",
        "email",
        "on_premises_security_identifier",
    }
    assert not DirectoryUser.objects.exists()


def test_user_create_refuses_a_taken_upn():
    DirectoryUserFactory.create(user_principal_name="jane@corp.example.com")
    with pytest.raises(ValidationError) as exc_info:
        user_create(external_id="other", user_principal_name="jane@corp.example.com")
    assert set(exc_info.value.message_dict) == {"user_principal_name"}
    assert DirectoryUser.objects.count() == 1


def test_user_update_saves_only_changed_fields():
    user = DirectoryUserFactory.create(department="Finance")
    updated_at = user.updated_at
    user_update(user=user, data={"department": "Finance"})
    user.refresh_from_db()
    assert user.updated_at == updated_at

    DirectoryUser.objects.filter(pk=user.pk).update(display_name="Changed elsewhere")
    user_update(user=user, data={"department": "Sales"})  # the in-memory display_name is stale
    user.refresh_from_db()
    assert (user.department, user.display_name) == ("Sales", "Changed elsewhere")
    assert user.updated_at > updated_at


def test_user_update_refuses_unknown_fields():
    with pytest.raises(TypeError, match="id"):
        user_update(user=DirectoryUserFactory.create(), data={"id": 5})


def test_user_delete_keeps_their_devices():
    user = DirectoryUserFactory.create()
    device = DeviceFactory.create(primary_user=user)
    user_delete(user=user)
    device.refresh_from_db()
    assert device.primary_user is None


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


def test_delete_refused_by_a_protecting_record_is_object_in_use(monkeypatch):
    user = DirectoryUserFactory.create()

    def protected(self, *args, **kwargs):
        raise ProtectedError("protected", {DeviceFactory.create(name="Keeper")})

    monkeypatch.setattr(DirectoryUser, "delete", protected)
    with pytest.raises(ObjectInUse) as exc_info:
        user_delete(user=user)
    assert exc_info.value.http_status == 409
    assert exc_info.value.extra == {"referenced_by": ["device: Keeper (Windows 10 and later)"]}
