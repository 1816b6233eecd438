"""Devices in a real browser: the list, a device's page with its profiles' states and its timeline, a new
check-in token shown once, retiring with the confirmation listing the certificates; a read-only user sees
no action buttons.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group as AuthGroup

from access.services.roles import roles_sync
from ca.models import IssuedCertificate, RevocationRequest
from directory.models import Device, DeviceState
from directory.services.checkin_tokens import device_authenticate
from profiles.services.checkin import device_checkin
from profiles.services.states import device_enrollment_failed, device_enrollment_succeeded

pytestmark = [pytest.mark.external, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def held(assigned: Any, device: Device, issue: Any, make_profile: Any) -> IssuedCertificate:
    """``device`` checked in, holding a certificate of ``assigned``, and failing for a second profile."""
    device_checkin(device=device)
    certificate = IssuedCertificate.objects.get(request=issue(common_name="jdoe-browser"))
    device_enrollment_succeeded(device=device, profile=assigned, certificate=certificate)
    broken = make_profile(name="Wi-Fi (broken)")
    device_enrollment_failed(device=device, profile=broken, reason="{{Department}} is empty for this user")
    return certificate


def device_url(live_server: Any, device: Device) -> str:
    return f"{live_server.url}/admin/profiles/manageddevice/{device.pk}/change/"


def test_the_admin_opens_a_device_rotates_its_token_and_retires_it(
    live_server: Any,
    page: Any,
    login: Any,
    screenshot: Any,
    superuser: Any,
    device: Device,
    held: Any,
    assigned: Any,
) -> None:
    Device.objects.create(
        external_id="d-laptop", name="LAPTOP-042", platform="windows_10", os_version="10.0.22631"
    )
    Device.objects.create(external_id="d-old", name="Old iPad", platform="ios", state=DeviceState.WIPED)
    login(page, superuser)

    page.goto(f"{live_server.url}/admin/profiles/manageddevice/")
    expect(page.locator("#result_list")).to_contain_text("iPhone-1")
    expect(page.locator("#changelist-filter")).to_contain_text("profile state")
    screenshot(page, "device-list")

    page.get_by_role("link", name="iPhone-1").click()
    expect(page.locator("#device-page")).to_be_visible()
    issued_row = page.locator("#device-profiles tr", has_text=assigned.name)
    expect(issued_row.locator(".dp-state")).to_have_text("Issued")
    failed_row = page.locator("#device-profiles tr", has_text="Wi-Fi (broken)")
    expect(failed_row.locator(".dp-state")).to_have_text("Failed")
    expect(failed_row).to_contain_text("{{Department}} is empty for this user")
    expect(page.locator("#device-certificates")).to_contain_text(held.subject)
    expect(page.locator("#device-timeline")).to_contain_text("30001")
    expect(page.locator("#device-user")).to_contain_text("jdoe@corp.example.com")
    screenshot(page, "device-page")

    # A new check-in token: a confirmation, then the token once.
    page.get_by_role("link", name="New check-in token…").click()
    expect(page.locator("#checkin-token-confirm")).to_contain_text("No certificate is revoked")
    with page.expect_response(re.compile(r"/checkin-token/$")) as answer:
        page.get_by_role("button", name="Issue the new token").click()
    assert "no-store" in answer.value.headers["cache-control"]
    token = page.locator("#checkin-token").inner_text().strip()
    assert device_authenticate(device_external_id=device.external_id, token=token) is not None
    screenshot(page, "device-checkin-token")
    page.get_by_role("link", name="Back to the device").click()
    expect(page.locator("#device-page")).to_be_visible()
    assert token not in page.content()

    # Retire: the confirmation lists the certificates it revokes.
    page.get_by_role("link", name="Retire…").click()
    listed = page.locator("#leave-confirm tr.dp-to-revoke")
    expect(listed).to_have_count(1)
    expect(listed).to_contain_text(held.serial)
    expect(listed).to_contain_text(held.subject)
    expect(listed).to_contain_text(assigned.name)
    screenshot(page, "device-retire-confirm")
    page.get_by_role("button", name=re.compile(r"^Retire the device and revoke 1 certificate")).click()

    expect(page.locator("#device-state")).to_have_text("Retired")
    expect(page.locator("ul.messagelist")).to_contain_text("1 certificate(s) to revoke")
    expect(page.locator("#device-actions")).to_have_count(0)
    assert Device.objects.get(pk=device.pk).state == DeviceState.RETIRED
    assert [item.certificate_id for item in RevocationRequest.objects.get().items.all()] == [held.pk]


def test_a_read_only_user_sees_no_action_buttons(
    live_server: Any, page: Any, login: Any, screenshot: Any, device: Device, held: Any
) -> None:
    roles_sync()
    auditor = get_user_model().objects.create_user("auditor", is_staff=True)
    auditor.groups.add(AuthGroup.objects.get(name="Read-only"))
    login(page, auditor)

    page.goto(device_url(live_server, device))
    expect(page.locator("#device-page")).to_be_visible()
    expect(page.locator("#device-profiles")).to_contain_text("Issued")
    expect(page.locator("#device-actions")).to_have_count(0)
    for label in ("New check-in token…", "Retire…", "Wipe…", "Download .mobileconfig (iOS, macOS)"):
        expect(page.get_by_text(label)).to_have_count(0)

    page.goto(f"{live_server.url}/admin/profiles/manageddevice/")
    expect(page.locator("#result_list")).to_contain_text("iPhone-1")
    expect(page.locator("select[name=action]")).to_have_count(0)
    screenshot(page, "device-list-read-only")


def _fits(page: Any) -> bool:
    """The list's table needs no horizontal scrolling: every column is on screen."""
    return bool(page.eval_on_selector("#changelist .results", "el => el.scrollWidth <= el.clientWidth"))


def test_the_users_groups_and_devices_lists_fit_1280_px(
    live_server: Any, page: Any, login: Any, screenshot: Any, superuser: Any, device: Device, held: Any
) -> None:
    Device.objects.create(
        external_id="d-w",
        name="DESKTOP-FINANCE-0042",
        platform="windows_10",
        primary_user=device.primary_user,
    )
    login(page, superuser)
    for path, name, expected in [
        ("/admin/profiles/manageddevice/", "device-list", "iPhone-1"),
        ("/admin/directory/device/", "directory-device-list", "DESKTOP-FINANCE-0042"),
        ("/admin/directory/directoryuser/", "user-list", "jdoe@corp.example.com"),
        ("/admin/directory/group/", "group-list", "SCEP users"),
    ]:
        page.goto(f"{live_server.url}{path}")
        expect(page.locator("#result_list")).to_contain_text(expected)
        screenshot(page, name)
        assert _fits(page), path
