"""The directory's users, devices and groups pages: sensible columns, the user's devices and groups."""

from __future__ import annotations

import pytest

from django.contrib.auth.models import Permission

from directory.models import GroupKind
from directory.tests.factories import DeviceFactory, DirectoryUserFactory, GroupFactory

pytestmark = pytest.mark.django_db


def test_the_user_list_counts_devices_and_groups(admin_client):
    user = DirectoryUserFactory.create(user_principal_name="jane@corp.example.com")
    DeviceFactory.create_batch(2, primary_user=user)
    GroupFactory.create(kind=GroupKind.USER, members=[user])

    response = admin_client.get("/admin/directory/directoryuser/?q=jane")

    assert response.status_code == 200
    row = response.context["cl"].result_list[0]
    assert (row.device_total, row.group_total) == (2, 1)


def test_the_user_page_links_the_users_devices_and_groups(admin_client):
    user = DirectoryUserFactory.create()
    device = DeviceFactory.create(primary_user=user, name="Jane's laptop")
    group = GroupFactory.create(kind=GroupKind.USER, members=[user], name="Finance")

    body = admin_client.get(f"/admin/directory/directoryuser/{user.pk}/change/").content.decode()

    assert f'href="/admin/directory/device/{device.pk}/change/"' in body
    assert "Jane&#x27;s laptop" in body
    assert f'href="/admin/directory/group/{group.pk}/change/"' in body
    assert (
        "Devices and groups" not in admin_client.get("/admin/directory/directoryuser/add/").content.decode()
    )


def test_the_device_page_links_to_its_certificates_for_who_may_see_them(
    admin_client, client, django_user_model
):
    device = DeviceFactory.create()
    GroupFactory.create(kind=GroupKind.DEVICE, members=[device], name="Kiosks")
    url = f"/admin/directory/device/{device.pk}/change/"
    certificates = f"/admin/profiles/manageddevice/{device.pk}/change/"

    body = admin_client.get(url).content.decode()
    assert certificates in body
    assert "Kiosks" in body

    member = django_user_model.objects.create_user("directory-only", is_staff=True)
    member.user_permissions.add(Permission.objects.get(codename="view_device"))
    client.force_login(member)
    response = client.get(url)
    assert response.status_code == 200
    assert certificates not in response.content.decode()
