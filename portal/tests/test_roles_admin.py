"""The roles in the admin: a colleague given one role sees and does exactly that job there too."""

from __future__ import annotations

from typing import Any

import pytest

from django.contrib.auth.models import Group
from django.test import Client

from access.roles import ROLES
from access.services.roles import roles_sync
from ca.models import IssuedCertificate
from directory.models import Device, DeviceState
from profiles.services.states import device_enrollment_succeeded


def test_the_roles_exist_on_a_fresh_install(db):
    """(The test database is made by migrate, which creates them: nothing here calls roles_sync.)"""
    assert set(Group.objects.values_list("name", flat=True)) >= {role.name for role in ROLES}
    assert Group.objects.get(name="Read-only").permissions.filter(codename="view_issuedcertificate").exists()


@pytest.fixture
def as_role(client: Client, django_user_model: Any):
    roles_sync()

    def _login(role: str) -> Client:
        member = django_user_model.objects.create_user(
            f"admin-{role.lower().replace(' ', '-')}", is_staff=True
        )
        member.groups.add(Group.objects.get(name=role))
        client.force_login(member)
        return client

    return _login


def _actions(client: Client, url: str) -> set[str]:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    form = response.context["action_form"]  # None when the role has no action there
    return {value for value, _ in form.fields["action"].choices if value} if form is not None else set()


def test_the_profile_manager_edits_profiles_and_nothing_of_the_ca(as_role, pki):
    client = as_role("Profile manager")

    assert client.get("/admin/profiles/scepprofile/add/").status_code == 200
    assert client.get("/admin/profiles/profileassignment/add/").status_code == 200
    assert client.get("/admin/ca/certificatetemplate/").status_code == 200  # browsing templates
    assert client.get("/admin/ca/certificatetemplate/add/").status_code == 403
    assert client.get("/admin/ca/issuedcertificate/").status_code == 403
    assert client.get("/admin/profiles/manageddevice/").status_code == 403


def test_the_certificate_manager_revokes_retires_and_approves(as_role, issued):
    client = as_role("Certificate manager")

    assert "revoke_selected" in _actions(client, "/admin/ca/issuedcertificate/")
    assert {"approve_selected", "deny_selected"} <= _actions(client, "/admin/ca/certificaterequest/")
    device_actions = _actions(client, "/admin/profiles/manageddevice/")
    assert {"retire_selected", "wipe_selected"} <= device_actions
    assert not device_actions & {"checkin_token_selected", "mobileconfig_selected"}
    assert client.get("/admin/directory/device/add/").status_code == 403
    assert client.get("/admin/profiles/scepprofile/add/").status_code == 403


def test_the_directory_manager_edits_the_directory_but_revokes_nothing(as_role, device):
    client = as_role("Directory manager")

    assert client.get("/admin/directory/device/add/").status_code == 200
    assert client.get(f"/admin/directory/device/{device.pk}/change/").status_code == 200
    assert client.get("/admin/profiles/manageddevice/").status_code == 403
    assert client.get("/admin/ca/issuedcertificate/").status_code == 403


def test_the_device_enrollment_operator_hands_out_tokens_and_payloads_only(as_role, assigned, device, issue):
    certificate = IssuedCertificate.objects.get(request=issue(common_name="held"))
    device_enrollment_succeeded(device=device, profile=assigned, certificate=certificate)
    client = as_role("Device enrollment operator")
    changelist = "/admin/profiles/manageddevice/"

    actions = _actions(client, changelist)
    assert {"checkin_token_selected", "mobileconfig_selected", "windows_csp_selected"} <= actions
    assert not actions & {"retire_selected", "wipe_selected"}

    token = client.post(changelist, {"action": "checkin_token_selected", "_selected_action": [device.pk]})
    assert token.status_code == 200
    assert "no-store" in token["Cache-Control"]
    assert token.context["token"] in token.content.decode()

    payload = client.post(changelist, {"action": "mobileconfig_selected", "_selected_action": [device.pk]})
    assert payload.status_code == 200
    assert payload["Content-Type"] == "application/x-apple-aspen-config"
    assert "no-store" in payload["Cache-Control"]

    # An action the role does not have is not carried out, even if posted.
    client.post(changelist, {"action": "retire_selected", "_selected_action": [device.pk], "confirm": "1"})
    assert Device.objects.get(pk=device.pk).state == DeviceState.ACTIVE
    certificate.refresh_from_db()
    assert certificate.revoked_at is None


def test_the_certificate_manager_retires_after_confirming(as_role, assigned, device, issue):
    certificate = IssuedCertificate.objects.get(request=issue(common_name="held"))
    device_enrollment_succeeded(device=device, profile=assigned, certificate=certificate)
    client = as_role("Certificate manager")
    changelist = "/admin/profiles/manageddevice/"

    confirm = client.post(changelist, {"action": "retire_selected", "_selected_action": [device.pk]})
    assert confirm.status_code == 200
    assert "This cannot be undone" in confirm.content.decode()
    assert Device.objects.get(pk=device.pk).state == DeviceState.ACTIVE

    done = client.post(
        changelist,
        {"action": "retire_selected", "_selected_action": [device.pk], "confirm": "Retire"},
        follow=True,
    )
    assert "1 certificate(s) to revoke" in done.content.decode()
    assert Device.objects.get(pk=device.pk).state == DeviceState.RETIRED


def test_read_only_sees_everything_and_changes_nothing(as_role, issued, device):
    client = as_role("Read-only")

    assert client.get("/admin/ca/issuedcertificate/").status_code == 200
    assert _actions(client, "/admin/ca/issuedcertificate/") == set()
    assert client.get(f"/admin/directory/device/{device.pk}/change/").status_code == 200  # the view page
    assert client.get("/admin/profiles/scepprofile/add/").status_code == 403
    assert client.get("/admin/eventlog/connectorevent/").status_code == 200


def test_the_administrator_manages_people_and_roles(as_role):
    client = as_role("Administrator")

    assert client.get("/admin/auth/user/add/").status_code == 200
    assert client.get("/admin/auth/group/").status_code == 200
    assert client.get("/admin/access/apitoken/add/").status_code == 200
