import pytest

from django.utils.crypto import salted_hmac

from directory.exceptions import DeviceNotActive
from directory.models import Device, DeviceState
from directory.services.checkin_tokens import (
    CHECKIN_TOKEN_SALT,
    device_authenticate,
    device_checkin_token_rotate,
)
from directory.tests.factories import DeviceFactory

pytestmark = pytest.mark.django_db


def test_rotate_returns_the_token_once_and_stores_only_its_hmac():
    device = DeviceFactory.create()
    token = device_checkin_token_rotate(device=device)
    stored = Device.objects.get(pk=device.pk).checkin_token_digest
    assert len(token) >= 43
    assert token not in stored
    assert stored == salted_hmac(CHECKIN_TOKEN_SALT, token, algorithm="sha256").hexdigest()


def test_authenticate_accepts_the_current_token():
    device = DeviceFactory.create()
    token = device_checkin_token_rotate(device=device)
    assert device_authenticate(device_external_id=device.external_id, token=token) == device


def test_authenticate_refuses_a_wrong_or_replaced_token():
    device = DeviceFactory.create()
    old = device_checkin_token_rotate(device=device)
    new = device_checkin_token_rotate(device=device)
    assert device_authenticate(device_external_id=device.external_id, token=old) is None
    assert device_authenticate(device_external_id=device.external_id, token=new[:-1] + "x") is None
    assert device_authenticate(device_external_id=device.external_id, token="") is None


def test_authenticate_refuses_another_devices_token_and_unknown_devices():
    first, second = DeviceFactory.create_batch(2)
    token = device_checkin_token_rotate(device=first)
    assert device_authenticate(device_external_id=second.external_id, token=token) is None
    assert device_authenticate(device_external_id="no-such-device", token=token) is None


def test_authenticate_refuses_a_device_without_token():
    device = DeviceFactory.create()
    assert device_authenticate(device_external_id=device.external_id, token="") is None


@pytest.mark.parametrize("state", [DeviceState.RETIRED, DeviceState.WIPED])
def test_authenticate_refuses_a_device_that_is_not_active(state):
    device = DeviceFactory.create()
    token = device_checkin_token_rotate(device=device)
    Device.objects.filter(pk=device.pk).update(state=state)
    assert device_authenticate(device_external_id=device.external_id, token=token) is None


def test_rotate_refuses_a_retired_device():
    device = DeviceFactory.create(state=DeviceState.RETIRED)
    with pytest.raises(DeviceNotActive):
        device_checkin_token_rotate(device=device)
    assert Device.objects.get(pk=device.pk).checkin_token_digest == ""


def test_tokens_survive_a_secret_key_rotation(settings):
    device = DeviceFactory.create()
    token = device_checkin_token_rotate(device=device)
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "a-new-secret-key-" + "x" * 40
    assert device_authenticate(device_external_id=device.external_id, token=token) == device
    settings.SECRET_KEY_FALLBACKS = []
    assert device_authenticate(device_external_id=device.external_id, token=token) is None
