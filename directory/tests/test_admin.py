import pytest

from directory.models import Device, DeviceState, Group, GroupKind
from directory.services.import_jobs import import_job_create, import_job_run
from directory.tests.factories import DeviceFactory, DirectoryUserFactory, GroupFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("model", ["directoryuser", "device", "group"])
def test_changelist_add_and_change_pages_load(admin_client, model):
    user = DirectoryUserFactory.create()
    device = DeviceFactory.create(primary_user=user)
    group = GroupFactory.create(members=[user])
    obj = {"directoryuser": user, "device": device, "group": group}[model]
    base = f"/admin/directory/{model}/"
    for url in (base, f"{base}?q=a", f"{base}add/", f"{base}{obj.pk}/change/"):
        assert admin_client.get(url).status_code == 200, url


def test_changelist_filters(admin_client):
    DeviceFactory.create()
    response = admin_client.get("/admin/directory/device/?platform__exact=windows_10&state__exact=active")
    assert response.status_code == 200
    assert response.context["cl"].result_count == 1


def test_device_state_is_read_only_on_change(admin_client):
    device = DeviceFactory.create()
    response = admin_client.get(f"/admin/directory/device/{device.pk}/change/")
    assert "state" not in response.context["adminform"].form.fields


def test_only_retired_or_wiped_devices_can_be_deleted(admin_client):
    active = DeviceFactory.create()
    retired = DeviceFactory.create(state=DeviceState.RETIRED)
    assert admin_client.get(f"/admin/directory/device/{active.pk}/delete/").status_code == 403
    action = {"action": "delete_selected", "post": "yes"}
    both = admin_client.post(
        "/admin/directory/device/", {**action, "_selected_action": [active.pk, retired.pk]}
    )
    assert both.status_code == 403
    assert Device.objects.count() == 2
    admin_client.post("/admin/directory/device/", {**action, "_selected_action": [retired.pk]})
    assert list(Device.objects.all()) == [active]


def test_group_form_refuses_devices_in_a_user_group(admin_client):
    device = DeviceFactory.create()
    response = admin_client.post(
        "/admin/directory/group/add/",
        {"external_id": "g1", "name": "Staff", "kind": GroupKind.USER, "devices": [device.pk]},
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {
        "devices": ["A user group holds only users; remove the devices."]
    }
    assert not Group.objects.exists()


def test_user_form_checks_the_sid(admin_client):
    response = admin_client.post(
        "/admin/directory/directoryuser/add/",
        {
            "external_id": "u1",
            "user_principal_name": "jane@corp.example.com",
            "on_premises_security_identifier": "x",
        },
    )
    assert response.status_code == 200
    assert "on_premises_security_identifier" in response.context["adminform"].form.errors


def test_device_form_checks_the_mac(admin_client):
    response = admin_client.post(
        "/admin/directory/device/add/",
        {"external_id": "d1", "name": "PC", "platform": "windows_10", "state": "active", "wifi_mac": "00:11"},
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {
        "wifi_mac": ["Enter a MAC address such as 00:11:22:AA:BB:CC, 00-11-22-AA-BB-CC or 001122AABBCC."]
    }
    assert not Device.objects.exists()


def test_import_jobs_are_read_only_in_the_admin(admin_client):
    content = b"external_id,user_principal_name\nu1,jane@corp.example.com\nu2,bad\n"
    job = import_job_run(job_id=import_job_create(content=content, requested_by="test", dispatch=False).pk)
    base = "/admin/directory/importjob/"
    response = admin_client.get(base)
    assert response.status_code == 200
    assert response.context["cl"].result_count == 1
    detail = admin_client.get(f"{base}{job.pk}/change/")
    assert detail.status_code == 200
    assert b"Enter a user principal name" in detail.content
    assert admin_client.get(f"{base}add/").status_code == 200  # the upload form (test_admin_imports.py)
    assert admin_client.post(f"{base}{job.pk}/change/", {"status": "queued"}).status_code == 403
