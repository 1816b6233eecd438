"""/api/v1/users/: CRUD, filters and the permission matrix."""

import pytest

from rest_framework.test import APIClient

from directory.models import Device, DirectoryUser
from directory.tests.factories import DeviceFactory, DirectoryUserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.urls("directory.tests.urls")]

URL = "/api/v1/users/"
NEW = {
    "external_id": "8f2c1d7e-0b7a-4c59-9a55-3f3e4b1a2c10",
    "user_principal_name": "jane@corp.example.com",
    "display_name": "Jane Doe",
    "email": "jane.doe@corp.example.com",
    "on_premises_security_identifier": "S-1-5-21-1004336348-1177238915-682003330-1001",
}


def test_anonymous_is_unauthorized():
    assert APIClient().get(URL).status_code == 401
    assert APIClient().post(URL, NEW, format="json").status_code == 401


def test_without_permissions_everything_is_forbidden(client_for):
    user = DirectoryUserFactory.create()
    client = client_for()
    assert client.get(URL).status_code == 403
    assert client.get(f"{URL}{user.pk}/").status_code == 403
    assert client.post(URL, NEW, format="json").status_code == 403
    assert client.patch(f"{URL}{user.pk}/", {"department": "x"}, format="json").status_code == 403
    assert client.delete(f"{URL}{user.pk}/").status_code == 403


def test_view_permission_reads_but_does_not_write(client_for):
    DirectoryUserFactory.create(user_principal_name="jane@corp.example.com")
    client = client_for("directory.view_directoryuser")
    response = client.get(URL)
    assert response.status_code == 200
    assert [u["user_principal_name"] for u in response.json()["results"]] == ["jane@corp.example.com"]
    assert client.post(URL, NEW, format="json").status_code == 403


def test_create_with_token_auth(client_for):
    response = client_for("directory.add_directoryuser").post(URL, NEW, format="json")
    assert response.status_code == 201, response.json()
    data = response.json()
    assert {k: data[k] for k in NEW} == NEW
    assert data["enabled"] is True
    user = DirectoryUser.objects.get(pk=data["id"])
    assert user.on_premises_security_identifier == NEW["on_premises_security_identifier"]


def test_create_refuses_bad_input_with_field_messages(admin_api):
    DirectoryUserFactory.create(user_principal_name="jane@corp.example.com")
    response = admin_api.post(
        URL, {**NEW, "email": "nope", "on_premises_security_identifier": "S-1-5"}, format="json"
    )
    assert response.status_code == 400
    assert set(response.json()) == {"user_principal_name", "email", "on_premises_security_identifier"}
    assert DirectoryUser.objects.count() == 1


def test_update_partial_and_full(admin_api):
    user = DirectoryUserFactory.create(department="Finance")
    response = admin_api.patch(f"{URL}{user.pk}/", {"department": "Sales"}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["department"] == "Sales"
    response = admin_api.put(f"{URL}{user.pk}/", {**NEW, "enabled": False}, format="json")
    assert response.status_code == 200, response.json()
    user.refresh_from_db()
    assert (user.user_principal_name, user.enabled, user.department) == (
        "jane@corp.example.com",
        False,
        "Sales",
    )


def test_update_to_a_taken_upn_is_a_400(admin_api):
    DirectoryUserFactory.create(user_principal_name="taken@corp.example.com")
    user = DirectoryUserFactory.create()
    response = admin_api.patch(
        f"{URL}{user.pk}/", {"user_principal_name": "taken@corp.example.com"}, format="json"
    )
    assert response.status_code == 400
    assert list(response.json()) == ["user_principal_name"]


def test_deleting_a_user_referenced_by_a_device_keeps_the_device(admin_api):
    user = DirectoryUserFactory.create()
    device = DeviceFactory.create(primary_user=user)
    response = admin_api.delete(f"{URL}{user.pk}/")
    assert response.status_code == 204
    assert Device.objects.get(pk=device.pk).primary_user is None


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"upn": "JANE@corp.example.com"}, ["jane@corp.example.com"]),
        ({"email": "joe.b@corp.example.com"}, ["joe@corp.example.com"]),
        ({"enabled": "false"}, ["joe@corp.example.com"]),
        ({"search": "bloggs"}, ["joe@corp.example.com"]),
        ({"search": "u-jane"}, ["jane@corp.example.com"]),
        ({"department": "finance"}, ["jane@corp.example.com"]),
        ({"ordering": "-user_principal_name"}, ["joe@corp.example.com", "jane@corp.example.com"]),
    ],
)
def test_filters(admin_api, query, expected):
    DirectoryUserFactory.create(
        external_id="u-jane", user_principal_name="jane@corp.example.com", department="Finance"
    )
    DirectoryUserFactory.create(
        external_id="u-joe", user_principal_name="joe@corp.example.com", email="joe.b@corp.example.com",
        display_name="Joe Bloggs", enabled=False, department="Sales",
    )  # fmt: skip
    response = admin_api.get(URL, query)
    assert response.status_code == 200
    assert [u["user_principal_name"] for u in response.json()["results"]] == expected
