"""/api/v1/devices/: CRUD, filters, and the check-in token action."""

import pytest

from rest_framework.test import APIClient

from directory.models import Device, DeviceState, Platform
from directory.services.checkin_tokens import device_authenticate
from directory.tests.factories import DeviceFactory, DirectoryUserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.urls("directory.tests.urls")]

URL = "/api/v1/devices/"


def test_anonymous_is_unauthorized():
    device = DeviceFactory.create()
    assert APIClient().get(URL).status_code == 401
    assert APIClient().post(f"{URL}{device.pk}/checkin-token/").status_code == 401


def test_without_permissions_everything_is_forbidden(client_for):
    device = DeviceFactory.create()
    client = client_for()
    assert client.get(URL).status_code == 403
    assert client.post(URL, {}, format="json").status_code == 403
    assert client.post(f"{URL}{device.pk}/checkin-token/").status_code == 403


def test_create_with_primary_user_by_external_id(client_for):
    DirectoryUserFactory.create(external_id="u1", user_principal_name="jane@corp.example.com")
    response = client_for("directory.add_device").post(
        URL,
        {
            "external_id": "d1",
            "name": "JANE-PC",
            "platform": "windows_10",
            "primary_user": "u1",
            "wifi_mac": "00:11:22:aa:bb:cc",
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    data = response.json()
    assert (data["primary_user"], data["primary_user_upn"], data["state"]) == (
        "u1",
        "jane@corp.example.com",
        "active",
    )
    assert data["has_checkin_token"] is False
    assert "checkin_token_digest" not in data
    assert Device.objects.filter(external_id="d1", primary_user__external_id="u1").exists()


def test_create_refuses_bad_input_with_field_messages(admin_api):
    response = admin_api.post(
        URL,
        {"external_id": "d1", "name": "", "platform": "windows", "primary_user": "ghost", "wifi_mac": "zz"},
        format="json",
    )
    assert response.status_code == 400
    assert set(response.json()) == {"name", "platform", "primary_user", "wifi_mac"}
    assert not Device.objects.exists()


def test_update_changes_the_primary_user_and_clears_it(admin_api):
    device = DeviceFactory.create()
    DirectoryUserFactory.create(external_id="u2")
    response = admin_api.patch(f"{URL}{device.pk}/", {"primary_user": "u2"}, format="json")
    assert response.status_code == 200, response.json()
    assert Device.objects.filter(pk=device.pk, primary_user__external_id="u2").exists()
    response = admin_api.patch(f"{URL}{device.pk}/", {"primary_user": None}, format="json")
    assert response.status_code == 200
    assert Device.objects.get(pk=device.pk).primary_user is None


def test_update_refuses_a_state_change(admin_api):
    device = DeviceFactory.create()
    response = admin_api.patch(f"{URL}{device.pk}/", {"state": "retired"}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "device_state_change_refused"
    assert response.json()["extra"] == {"field": "state"}
    assert Device.objects.get(pk=device.pk).state == DeviceState.ACTIVE


def test_delete_refuses_an_active_device(admin_api):
    active = DeviceFactory.create()
    response = admin_api.delete(f"{URL}{active.pk}/")
    assert response.status_code == 409
    assert response.json()["code"] == "device_active"
    retired = DeviceFactory.create(state=DeviceState.RETIRED)
    assert admin_api.delete(f"{URL}{retired.pk}/").status_code == 204
    assert list(Device.objects.all()) == [active]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"platform": "ios"}, ["iPhone"]),
        ({"platform": ["ios", "macos"]}, ["iPhone", "MacBook"]),
        ({"state": "retired"}, ["MacBook"]),
        ({"primary_user": "u1"}, ["iPhone", "PC"]),
        ({"primary_user_upn": "JANE@corp.example.com"}, ["iPhone", "PC"]),
        ({"search": "SN-MAC"}, ["MacBook"]),
        ({"search": "phone"}, ["iPhone"]),
        ({"domain_joined": "true"}, ["PC"]),
    ],
)
def test_filters(admin_api, query, expected):
    jane = DirectoryUserFactory.create(external_id="u1", user_principal_name="jane@corp.example.com")
    DeviceFactory.create(name="PC", platform=Platform.WINDOWS_10, primary_user=jane, domain_joined=True)
    DeviceFactory.create(name="iPhone", platform=Platform.IOS, primary_user=jane)
    DeviceFactory.create(
        name="MacBook", platform=Platform.MACOS, state=DeviceState.RETIRED, serial_number="SN-MAC"
    )
    response = admin_api.get(URL, query)
    assert response.status_code == 200
    assert sorted(d["name"] for d in response.json()["results"]) == sorted(expected)


def test_invalid_platform_filter_is_a_400(admin_api):
    assert admin_api.get(URL, {"platform": "windows"}).status_code == 400


def test_checkin_token_is_returned_once_and_authenticates(client_for):
    device = DeviceFactory.create()
    client = client_for("directory.rotate_checkin_token", "directory.view_device")
    response = client.post(f"{URL}{device.pk}/checkin-token/")
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    data = response.json()
    assert (data["device"], data["external_id"]) == (device.pk, device.external_id)
    assert device_authenticate(device_external_id=device.external_id, token=data["token"]) == device

    second = client.post(f"{URL}{device.pk}/checkin-token/").json()["token"]
    assert second != data["token"]
    assert device_authenticate(device_external_id=device.external_id, token=data["token"]) is None
    detail = client_for("directory.view_device").get(f"{URL}{device.pk}/").json()
    assert detail["has_checkin_token"] is True
    assert second not in str(detail)


def test_checkin_token_needs_its_own_right_not_change_device(client_for):
    """directory.change_device could rotate the token, check in as the device and enroll as its user."""
    device = DeviceFactory.create()
    client = client_for("directory.view_device", "directory.add_device", "directory.change_device")
    assert client.post(f"{URL}{device.pk}/checkin-token/").status_code == 403
    assert Device.objects.get(pk=device.pk).checkin_token_digest == ""


def test_checkin_token_for_a_retired_device_is_a_409(admin_api):
    device = DeviceFactory.create(state=DeviceState.RETIRED)
    response = admin_api.post(f"{URL}{device.pk}/checkin-token/")
    assert response.status_code == 409
    assert response.json()["code"] == "device_not_active"
