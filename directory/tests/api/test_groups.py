"""/api/v1/groups/: CRUD, filters and the members actions."""

import pytest

from rest_framework.test import APIClient

from directory.models import Group, GroupKind
from directory.tests.factories import DeviceFactory, DirectoryUserFactory, GroupFactory

pytestmark = [pytest.mark.django_db, pytest.mark.urls("directory.tests.urls")]

URL = "/api/v1/groups/"


def test_anonymous_is_unauthorized():
    group = GroupFactory.create()
    assert APIClient().get(URL).status_code == 401
    assert APIClient().get(f"{URL}{group.pk}/members/").status_code == 401


def test_crud(admin_api):
    response = admin_api.post(URL, {"external_id": "g1", "name": "Staff", "kind": "user"}, format="json")
    assert response.status_code == 201, response.json()
    pk = response.json()["id"]
    assert response.json()["member_count"] == 0
    response = admin_api.patch(f"{URL}{pk}/", {"description": "Everybody"}, format="json")
    assert response.status_code == 200, response.json()
    assert Group.objects.get(pk=pk).description == "Everybody"
    assert admin_api.delete(f"{URL}{pk}/").status_code == 204
    assert not Group.objects.exists()


def test_create_refuses_bad_input(admin_api):
    GroupFactory.create(external_id="g1")
    response = admin_api.post(URL, {"external_id": "g1", "name": "", "kind": "computers"}, format="json")
    assert response.status_code == 400
    assert set(response.json()) == {"external_id", "name", "kind"}


def test_kind_change_of_a_group_with_members_is_a_400(admin_api):
    group = GroupFactory.create(kind=GroupKind.USER, members=[DirectoryUserFactory.create()])
    response = admin_api.patch(f"{URL}{group.pk}/", {"kind": "device"}, format="json")
    assert response.status_code == 400
    assert response.json() == {"kind": ["a device group cannot contain users"]}


def test_list_filters_and_member_count(admin_api):
    user = DirectoryUserFactory.create(external_id="u1")
    devices = DeviceFactory.create_batch(2, primary_user=user)
    GroupFactory.create(name="Staff", kind=GroupKind.USER, members=[user])
    GroupFactory.create(name="PCs", kind=GroupKind.DEVICE, members=devices)
    GroupFactory.create(name="Empty", kind=GroupKind.DEVICE)
    results = admin_api.get(URL).json()["results"]
    assert [(g["name"], g["member_count"]) for g in results] == [("Empty", 0), ("PCs", 2), ("Staff", 1)]
    assert [g["name"] for g in admin_api.get(URL, {"kind": "device"}).json()["results"]] == ["Empty", "PCs"]
    assert [g["name"] for g in admin_api.get(URL, {"user": "u1"}).json()["results"]] == ["Staff"]
    by_device = admin_api.get(URL, {"device": devices[0].external_id}).json()["results"]
    assert [g["name"] for g in by_device] == ["PCs"]
    assert [g["name"] for g in admin_api.get(URL, {"search": "pc"}).json()["results"]] == ["PCs"]


def test_members_get_put_post_delete(admin_api):
    jane = DirectoryUserFactory.create(external_id="u1", user_principal_name="jane@corp.example.com")
    joe = DirectoryUserFactory.create(external_id="u2", user_principal_name="joe@corp.example.com")
    max_ = DirectoryUserFactory.create(external_id="u3", user_principal_name="max@corp.example.com")
    group = GroupFactory.create(kind=GroupKind.USER)
    members_url = f"{URL}{group.pk}/members/"

    response = admin_api.put(members_url, {"members": ["u1", "JOE@corp.example.com"]}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["member_count"] == 2
    assert set(group.users.all()) == {jane, joe}

    assert admin_api.post(members_url, {"members": ["u3", "u1"]}, format="json").status_code == 200
    assert set(group.users.all()) == {jane, joe, max_}

    response = admin_api.delete(members_url, {"members": ["u2"]}, format="json")
    assert response.status_code == 200
    assert set(group.users.all()) == {jane, max_}

    listed = admin_api.get(members_url).json()
    assert listed["count"] == 2
    assert [(m["external_id"], m["name"]) for m in listed["results"]] == [
        ("u1", "jane@corp.example.com"),
        ("u3", "max@corp.example.com"),
    ]


def test_members_of_a_device_group_by_external_id(admin_api):
    device = DeviceFactory.create(external_id="d1", name="PC-1")
    group = GroupFactory.create(kind=GroupKind.DEVICE)
    response = admin_api.put(f"{URL}{group.pk}/members/", {"members": ["d1"]}, format="json")
    assert response.status_code == 200
    listed = admin_api.get(f"{URL}{group.pk}/members/").json()["results"]
    assert listed == [{"id": device.pk, "external_id": "d1", "name": "PC-1"}]


def test_members_unknown_or_of_the_wrong_kind_are_a_400(admin_api):
    device = DeviceFactory.create(external_id="d1")
    group = GroupFactory.create(kind=GroupKind.USER, members=[device.primary_user])
    response = admin_api.put(f"{URL}{group.pk}/members/", {"members": ["d1", "ghost"]}, format="json")
    assert response.status_code == 400
    assert response.json() == {"members": ["Unknown users: d1, ghost."]}
    assert list(group.users.all()) == [device.primary_user]
    assert admin_api.put(f"{URL}{group.pk}/members/", {}, format="json").status_code == 400


def test_members_permissions(client_for):
    group = GroupFactory.create(kind=GroupKind.USER)
    DirectoryUserFactory.create(external_id="u1")
    members_url = f"{URL}{group.pk}/members/"
    viewer = client_for("directory.view_group")
    assert viewer.get(members_url).status_code == 200
    assert viewer.put(members_url, {"members": ["u1"]}, format="json").status_code == 403
    assert (
        client_for("directory.add_group").post(members_url, {"members": ["u1"]}, format="json").status_code
        == 403
    )
    assert (
        client_for("directory.delete_group").delete(members_url, {"members": []}, format="json").status_code
        == 403
    )
    editor = client_for("directory.change_group")
    assert editor.get(members_url).status_code == 403
    assert editor.post(members_url, {"members": ["u1"]}, format="json").status_code == 200
    assert group.users.count() == 1
