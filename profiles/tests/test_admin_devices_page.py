"""The admin's device page: the device's user, groups, profiles with state and reason, certificates and
timeline; its actions (check-in token, payload, retire, wipe), each behind its right, refused server-side.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from django.contrib.auth.models import Group as AuthGroup
from django.test import Client

from access.services.roles import roles_sync
from ca.models import IssuedCertificate, RevocationRequest
from directory.models import Device, DeviceState, Group, GroupKind
from directory.services.checkin_tokens import device_authenticate
from profiles.choices import CertificateState
from profiles.models import DeviceChallenge, ScepProfile
from profiles.services.checkin import device_checkin
from profiles.services.states import device_enrollment_failed, device_enrollment_succeeded

pytestmark = pytest.mark.django_db

ACTION_URLS = ("checkin-token/", "payload/mobileconfig/", "payload/windows-csp/", "retire/", "wipe/")


@pytest.fixture
def as_role(client: Client, django_user_model: Any) -> Callable[[str], Client]:
    roles_sync()

    def _login(role: str) -> Client:
        member = django_user_model.objects.create_user(f"ui-{role.lower().replace(' ', '-')}", is_staff=True)
        member.groups.add(AuthGroup.objects.get(name=role))
        client.force_login(member)
        return client

    return _login


@pytest.fixture
def held(assigned: ScepProfile, device: Device, issue: Any) -> IssuedCertificate:
    """``device`` checked in (its timeline has the check-in) and holding a certificate of ``assigned``."""
    device_checkin(device=device)
    certificate = IssuedCertificate.objects.get(request=issue(common_name="jdoe-held"))
    device_enrollment_succeeded(device=device, profile=assigned, certificate=certificate)
    return certificate


def url(device: Device, action: str = "") -> str:
    return f"/admin/profiles/manageddevice/{device.pk}/{action or 'change/'}"


def test_the_device_page_shows_user_groups_profiles_certificates_and_timeline(
    admin_client, device, held, assigned, make_profile
):
    device_group = Group.objects.create(external_id="g-dev", name="Kiosk devices", kind=GroupKind.DEVICE)
    device_group.devices.add(device)
    failing = make_profile(name="Broken profile")
    device_enrollment_failed(device=device, profile=failing, reason="the subject needs {{Department}}")

    response = admin_client.get(url(device))

    assert response.status_code == 200
    assert response.templates[0].name == "admin/profiles/manageddevice/device_detail.html"
    body = response.content.decode()
    assert "jdoe@corp.example.com" in body
    assert "Kiosk devices" in body
    assert "SCEP users" in body
    page = response.context["page"]
    rows = {row.profile.name: row for row in page.profiles}
    assert rows[assigned.name].applies == "applies"
    assert rows[assigned.name].state.state == CertificateState.ISSUED
    assert rows["Broken profile"].applies == "not assigned"
    assert rows["Broken profile"].reason == "the subject needs {{Department}}"
    assert "the subject needs {{Department}}" in body  # autoescaped text, shown as it is
    assert f"/admin/ca/issuedcertificate/{held.pk}/change/" in body
    assert [binding.certificate for binding in page.certificates] == [held]
    assert page.timeline is not None
    assert 30001 in {event.event_id for event in page.timeline}
    assert 'id="device-actions"' in body


def test_the_device_pages_name_subject_attributes_and_say_devices(admin_client, device, held):
    """Subjects as the certificate pages show them (E=, not the OID), the full serial on hover, an event
    without a diagnostic code says so, and the list and crumbs say "Devices" as the navigation does.
    """
    IssuedCertificate.objects.filter(pk=held.pk).update(
        subject="1.2.840.113549.1.9.1=jdoe@corp.example.com,CN=jdoe-held"
    )

    page = admin_client.get(url(device)).content.decode()
    confirmation = admin_client.get(url(device, "retire/")).content.decode()
    listed = admin_client.get("/admin/profiles/manageddevice/")

    for body in (page, confirmation):
        assert "E=jdoe@corp.example.com, CN=jdoe-held" in body
        assert "1.2.840.113549.1.9.1" not in body
    assert f'title="{held.serial}"' in page
    assert '<span class="dp-quiet-text">no code</span>' in page  # the check-in (30001) has none
    assert '&rsaquo; <a href="/admin/profiles/manageddevice/">Devices</a>' in page
    assert listed.context["title"] == "Devices"
    assert "<h1>Devices</h1>" in listed.content.decode()


def test_the_list_filters_by_platform_state_and_profile_state(admin_client, device, held, assigned):
    other = Device.objects.create(external_id="d-2", name="Laptop", platform="windows_10", state="retired")
    changelist = "/admin/profiles/manageddevice/"

    def listed(query: str) -> list[Device]:
        response = admin_client.get(f"{changelist}?{query}")
        assert response.status_code == 200, query
        return list(response.context["cl"].result_list)

    assert listed("platform__exact=ios") == [device]
    assert listed("state__exact=retired") == [other]
    assert listed("profile_state=issued") == [device]
    assert listed("profile_state=failed") == []
    assert listed(f"profile={assigned.pk}") == [device]
    assert listed(f"profile={assigned.pk}&profile_state=issued") == [device]
    assert listed(f"profile={assigned.pk}&profile_state=failed") == []
    row = listed("q=iPhone")[0]
    assert (getattr(row, "states_in_use", None), getattr(row, "states_failed", None)) == (1, 0)
    assert "1 issued" in admin_client.get(changelist).content.decode()


def test_read_only_sees_the_page_without_buttons_and_every_post_is_refused(as_role, device, held):
    client = as_role("Read-only")
    digest = device.checkin_token_digest

    response = client.get(url(device))
    assert response.status_code == 200
    assert 'id="device-actions"' not in response.content.decode()
    for action in ACTION_URLS:
        assert client.post(url(device, action)).status_code == 403, action
        assert client.get(url(device, action)).status_code == 403, action

    device.refresh_from_db()
    assert (device.state, device.checkin_token_digest) == (DeviceState.ACTIVE, digest)
    assert not RevocationRequest.objects.exists()
    assert DeviceChallenge.objects.count() == 1  # the fixture's check-in only


def test_the_operator_rotates_the_token_shown_once_and_never_cached(as_role, device, held):
    client = as_role("Device enrollment operator")
    page = client.get(url(device)).content.decode()
    assert "New check-in token" in page
    assert "Download .mobileconfig" in page
    assert "Download Windows CSP" not in page  # an iOS device: its platform's payload only
    assert "Retire…" not in page
    assert "Wipe…" not in page

    confirm = client.get(url(device, "checkin-token/"))
    assert confirm.status_code == 200
    assert "No certificate is revoked" in confirm.content.decode()
    device.refresh_from_db()
    assert not device.checkin_token_digest  # a GET changes nothing

    shown = client.post(url(device, "checkin-token/"))
    assert shown.status_code == 200
    assert "no-store" in shown["Cache-Control"].split(", ")
    token = shown.context["token"]
    assert token in shown.content.decode()
    assert device_authenticate(device_external_id=device.external_id, token=token) == device
    assert token not in client.get(url(device)).content.decode()

    assert client.post(url(device, "retire/")).status_code == 403
    assert Device.objects.get(pk=device.pk).state == DeviceState.ACTIVE


def test_the_operator_downloads_the_payloads(as_role, device, held):
    client = as_role("Device enrollment operator")
    Device.objects.filter(pk=device.pk).update(last_checkin_at=None)

    assert client.get(url(device, "payload/mobileconfig/")).status_code == 405  # a GET issues nothing
    assert Device.objects.get(pk=device.pk).last_checkin_at is None
    mobileconfig = client.post(url(device, "payload/mobileconfig/"))
    assert mobileconfig.status_code == 200
    assert mobileconfig["Content-Type"] == "application/x-apple-aspen-config"
    assert "no-store" in mobileconfig["Cache-Control"].split(", ")
    assert "attachment" in mobileconfig["Content-Disposition"]
    csp = client.post(url(device, "payload/windows-csp/"))
    assert csp.status_code == 200
    assert csp["Content-Type"] == "application/vnd.syncml+xml"
    assert "no-store" in csp["Cache-Control"].split(", ")
    assert client.post(url(device, "payload/pdf/")).status_code == 404
    assert Device.objects.get(pk=device.pk).last_checkin_at is not None  # checked in on its behalf


def test_retire_lists_the_certificates_it_revokes_then_retires(as_role, device, held, assigned):
    client = as_role("Certificate manager")
    page = client.get(url(device)).content.decode()
    assert "Retire…" in page
    assert "New check-in token" not in page

    confirm = client.get(url(device, "retire/"))
    assert confirm.status_code == 200
    body = confirm.content.decode()
    assert held.serial in body
    assert held.subject in body
    assert assigned.name in body
    assert Device.objects.get(pk=device.pk).state == DeviceState.ACTIVE  # a GET changes nothing

    done = client.post(url(device, "retire/"), follow=True)
    assert done.redirect_chain[-1][0] == url(device)
    assert "1 certificate(s) to revoke" in done.content.decode()
    assert Device.objects.get(pk=device.pk).state == DeviceState.RETIRED
    request = RevocationRequest.objects.get()
    assert [item.certificate for item in request.items.all()] == [held]
    # Retired: no more buttons, and a second retire is refused.
    assert 'id="device-actions"' not in done.content.decode()
    again = client.post(url(device, "wipe/"), follow=True)
    assert "already retired" in again.content.decode()
    assert RevocationRequest.objects.count() == 1


def test_wipe_of_a_device_without_certificates_says_so(admin_client, device):
    confirm = admin_client.get(url(device, "wipe/"))
    assert "No certificate to revoke" in confirm.content.decode()
    admin_client.post(url(device, "wipe/"))
    assert Device.objects.get(pk=device.pk).state == DeviceState.WIPED
    assert not RevocationRequest.objects.exists()


def test_the_timeline_needs_the_event_log_right(as_role, device, held):
    response = as_role("Device enrollment operator").get(url(device))
    assert response.context["page"].timeline is None
    assert "needs the right to read the connector's event log" in response.content.decode()


def test_the_page_is_refused_without_the_view_right_and_404_for_no_device(as_role, device):
    assert as_role("Directory manager").get(url(device)).status_code == 403
    client = as_role("Read-only")
    assert client.get("/admin/profiles/manageddevice/999999/checkin-token/").status_code == 404


def test_the_list_action_confirmation_lists_the_certificates(as_role, device, held):
    client = as_role("Certificate manager")
    confirm = client.post(
        "/admin/profiles/manageddevice/", {"action": "retire_selected", "_selected_action": [device.pk]}
    )
    assert confirm.status_code == 200
    assert held.serial in confirm.content.decode()
