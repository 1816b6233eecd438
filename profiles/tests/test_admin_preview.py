"""The editor's live preview (what check-in would render, the errors saving would show, the devices in
scope) and a profile's device status page with its filters and CSV export (Django test client).
"""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

from directory.models import Platform
from directory.tests.factories import DeviceFactory, DirectoryUserFactory, GroupFactory
from profiles.choices import CertificateState
from profiles.exports.x500 import x500_subject_string
from profiles.services.checkin import device_checkin, scep_profile_render
from profiles.services.states import device_state_set
from profiles.tests.test_admin import profile_form
from profiles.tests.test_admin_editor import form

PREVIEW = "/admin/profiles/scepprofile/preview/"


def preview(client: Any, data: dict[str, Any], url: str = PREVIEW) -> str:
    response = client.post(url, data)
    assert response.status_code == 200, response.content
    text: str = response.content.decode()
    return text


def test_the_preview_renders_with_check_ins_code(admin_client, pki, root_profile, scep_profile, device):
    data = form(
        pki,
        root_profile,
        subject_name_format_string=scep_profile.subject_name_format_string,
        _preview_for=f"device:{device.pk}",
    )
    html = preview(admin_client, data)

    rendered = scep_profile_render(profile=scep_profile, device=device)
    assert f'<code id="preview-subject">{x500_subject_string(rendered.subject)}</code>' in html
    assert "CN=jdoe, O=certportal tests" in html
    assert '<code class="preview-san">UPN:jdoe@corp.example.com</code>' in html
    assert "For device iPhone-1" in html


def test_the_preview_follows_the_subject_as_typed(admin_client, pki, root_profile, device):
    typed = "CN={{SerialNumber}},OU={{Department}},O=Contoso"
    html = preview(admin_client, form(pki, root_profile, subject_name_format_string=typed))
    assert '<code id="preview-subject">CN=F2LX1234, OU=Finance, O=Contoso</code>' in html

    typed = "CN={{FullyQualifiedDomainName}}"
    html = preview(admin_client, form(pki, root_profile, subject_name_format_string=typed))
    assert (  # check-in's reason, word for word
        "device has no fully qualified domain name, required by {{FullyQualifiedDomainName}} in the "
        "subject: {{FullyQualifiedDomainName}} is only available for domain-joined Windows devices "
        "(this device: ios, not domain-joined)"
    ) in html


def test_a_stray_curly_bracket_is_shown_next_to_the_field_and_nothing_is_rendered(
    admin_client, pki, root_profile, device
):
    html = preview(admin_client, form(pki, root_profile, subject_name_format_string="CN={{UserName}"))

    assert (
        '<ul class="errorlist live-errors" id="live-errors-subject_name_format_string" hx-swap-oob="true"'
        in html
    )
    assert "curly brackets not enclosing a variable in the CN value" in html
    assert 'id="preview-blocked"' in html
    assert 'id="preview-subject"' not in html


def test_fields_without_errors_get_an_empty_list_to_clear_the_last_one(admin_client, pki, root_profile):
    html = preview(admin_client, form(pki, root_profile))

    assert (
        '<ul class="errorlist live-errors" id="live-errors-subject_alternative_names" hx-swap-oob="true" '
        'aria-live="polite"></ul>' in html
    )


def test_a_user_without_a_device_of_the_platform(admin_client, pki, root_profile):
    user = DirectoryUserFactory.create(user_principal_name="ada@corp.example.com", user_name="ada")
    data = form(pki, root_profile, _preview_for=f"user:{user.pk}")

    html = preview(admin_client, data)
    assert "ada@corp.example.com (no iOS device: device variables have no value)" in html
    assert '<code id="preview-subject">CN=ada</code>' in html  # the profile needs no device variable

    data["subject_name_format_string"] = "CN={{SerialNumber}}"
    assert "device has no serial number, required by {{SerialNumber}} in the subject" in preview(
        admin_client, data
    )


def test_nothing_is_saved_by_a_preview(admin_client, pki, root_profile, scep_profile):
    data = form(pki, root_profile, name=scep_profile.name, key_size="4096")

    preview(admin_client, data, url=f"/admin/profiles/scepprofile/{scep_profile.pk}/preview/")

    scep_profile.refresh_from_db()
    assert (scep_profile.key_size, scep_profile.version) == (2048, 1)


# --- devices in scope -----------------------------------------------------------------------------------


def assignments(*rows: tuple[str, str, Any]) -> dict[str, str]:
    data = {"assignments-TOTAL_FORMS": str(len(rows)), "assignments-INITIAL_FORMS": "0"}
    for index, (intent, target, group) in enumerate(rows):
        data[f"assignments-{index}-intent"] = intent
        data[f"assignments-{index}-target"] = target
        data[f"assignments-{index}-group"] = str(group.pk) if group is not None else ""
    return data


@pytest.fixture
def fleet(user, user_group, device):
    """``device`` (iOS, jdoe's), a second iOS device in a device group, an Android device of jdoe's."""
    other = DeviceFactory.create(name="iPad-2", platform=Platform.IOS)
    devices = GroupFactory.create(name="Kiosks", kind="device", members=[other])
    DeviceFactory.create(name="Pixel", platform=Platform.ANDROID, primary_user=user)
    return {"users": user_group, "kiosks": devices}


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        ((), "0 devices in scope"),
        ((("include", "group", "users"),), "1 device in scope"),
        ((("include", "group", "users"), ("include", "group", "kiosks")), "2 devices in scope"),
        ((("include", "all_devices", None),), "2 devices in scope"),
        ((("include", "all_devices", None), ("exclude", "group", "kiosks")), "1 device in scope"),
    ],
    ids=["none", "user group", "two groups", "all devices", "all devices but the kiosks"],
)
def test_the_devices_in_scope_of_the_posted_assignments(
    admin_client, pki, root_profile, fleet, rows, expected
):
    posted = [(intent, target, fleet[group] if group else None) for intent, target, group in rows]
    data = {**form(pki, root_profile), **assignments(*posted)}

    html = preview(admin_client, data)

    assert f'<strong id="preview-in-scope">{expected}</strong> <span class="quiet">(iOS)</span>' in html


def test_other_platforms_and_exclusions_are_counted_apart(admin_client, pki, root_profile, fleet):
    data = {
        **form(pki, root_profile),
        **assignments(("include", "group", fleet["users"]), ("include", "group", fleet["kiosks"])),
        "assignments-1-intent": "exclude",
    }

    html = preview(admin_client, data)

    assert '<strong id="preview-in-scope">1 device in scope</strong>' in html
    assert "1 assigned device of other platforms: not applicable" in html


def test_a_row_marked_for_deletion_is_not_counted(admin_client, pki, root_profile, fleet):
    data = {
        **form(pki, root_profile),
        **assignments(("include", "group", fleet["users"])),
        "assignments-0-DELETE": "on",
    }

    assert "0 devices in scope" in preview(admin_client, data)


def test_the_trusted_root_editor_counts_its_scope(admin_client, pki, fleet):
    data = {"name": "Root", "platform": Platform.IOS, "authority": str(pki.root.pk)}
    data.update(assignments(("include", "group", fleet["kiosks"])))

    html = preview(admin_client, data, url="/admin/profiles/trustedrootprofile/preview/")

    assert '<strong id="preview-in-scope">1 device in scope</strong>' in html
    assert 'id="preview-subject"' not in html


def test_the_preview_is_for_staff_only(client, pki, root_profile):
    response = client.post(PREVIEW, profile_form(pki, root_profile))

    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


# --- device status --------------------------------------------------------------------------------------


@pytest.fixture
def statuses(assigned, device, user, issue):
    """jdoe's iPhone checked in (challenge issued), a failed device, and one in scope never checked in."""
    device_checkin(device=device)
    broken = DeviceFactory.create(name="=cmd|' /C calc'!A0", platform=Platform.IOS, primary_user=user)
    device_state_set(
        device=broken, profile=assigned, state=CertificateState.FAILED, reason="device has no IMEI"
    )
    DeviceFactory.create(name="iPhone-3", platform=Platform.IOS, primary_user=user)
    return assigned


def status_url(profile: Any, query: str = "") -> str:
    return f"/admin/profiles/scepprofile/{profile.pk}/devices/{query}"


def test_the_device_status_page_lists_every_device_in_scope(admin_client, statuses):
    response = admin_client.get(status_url(statuses))

    assert response.status_code == 200
    html = response.content.decode()
    assert [item["row"].state_label for item in response.context["rows"]] == [
        "Failed",
        "Challenge issued",
        "Pending (not checked in)",
    ]
    assert "device has no IMEI" in html
    tiles = {tile["key"]: tile["count"] for tile in response.context["tiles"]}
    assert (tiles["succeeded"], tiles["pending"], tiles["failed"]) == (0, 2, 1)


def test_it_filters_by_status_and_searches(admin_client, statuses):
    failed = admin_client.get(status_url(statuses, "?status=failed"))
    assert [item["row"].reason for item in failed.context["rows"]] == ["device has no IMEI"]

    found = admin_client.get(status_url(statuses, "?q=iphone-3"))
    assert [item["row"].device.name for item in found.context["rows"]] == ["iPhone-3"]


def test_it_exports_the_filtered_rows_as_csv(admin_client, statuses):
    response = admin_client.get(status_url(statuses, "?status=failed&export=csv"))

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith(f'attachment; filename="device-status-{statuses.pk}-')
    header, *rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert header[:7] == ["device", "intune_device_id", "platform", "user", "status", "state", "reason"]
    assert len(rows) == 1
    assert rows[0][0] == "'=cmd|' /C calc'!A0"  # a device's name never becomes a formula
    assert rows[0][2:7] == ["iOS", "jdoe@corp.example.com", "Failed", "Failed", "device has no IMEI"]


def test_the_device_status_page_needs_the_states_view_right(client, user_with_perms, statuses):
    viewer = user_with_perms("profiles.view_scepprofile", username="viewer")
    viewer.is_staff = True
    viewer.save()
    client.force_login(viewer)
    assert client.get(status_url(statuses)).status_code == 403

    reader = user_with_perms(
        "profiles.view_scepprofile", "profiles.view_devicecertificatestate", username="reader"
    )
    reader.is_staff = True
    reader.save()
    client.force_login(reader)
    assert client.get(status_url(statuses)).status_code == 200
    change = client.get(f"/admin/profiles/scepprofile/{statuses.pk}/change/").content.decode()
    assert status_url(statuses) in change  # linked from the profile
