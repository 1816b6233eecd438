"""The profile editor in a real browser: a trusted root and a SCEP profile made in the admin as a new
administrator would, the live preview following the subject as it is typed, the stray-curly-bracket error
next to the field, the devices in scope once the profile is assigned to a group, the device status page.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from directory.models import Platform
from profiles.models import ProfileAssignment, ScepProfile, TrustedRootProfile
from profiles.services.checkin import device_checkin
from profiles.services.profiles import assignment_create, scep_profile_create, trusted_root_profile_create
from profiles.tests import fixtures as profile_fixtures
from profiles.tests.fixtures import profile_fields

pytestmark = [pytest.mark.external, pytest.mark.django_db(transaction=True)]

# The profiles tests' directory fixtures (an iOS device whose user is in a user group).
user = profile_fixtures.user
user_group = profile_fixtures.user_group
device = profile_fixtures.device

SCEP_URL = "https://certportal.example/certsrv/mscep/mscep.dll"


def _create_trusted_root(page: Any, base: str, pki: Any, group: Any, screenshot: Any) -> TrustedRootProfile:
    page.goto(f"{base}/admin/profiles/trustedrootprofile/add/")
    page.fill("#id_name", "Contoso Root")
    page.select_option("#id_platform", Platform.IOS)
    expect(page.locator(".form-row.field-destination_store")).to_be_hidden()  # Windows only
    page.select_option("#id_authority", str(pki.root.pk))
    page.select_option('select[name="assignments-0-group"]', str(group.pk))
    expect(page.locator("#preview-in-scope")).to_have_text("1 device in scope")
    screenshot(page, "profiles-trusted-root-editor")
    page.click('input[name="_save"]')
    expect(page.locator(".messagelist .success")).to_contain_text("was added successfully")
    return TrustedRootProfile.objects.get(name="Contoso Root")


def test_create_and_assign_a_trusted_root_and_a_scep_profile(
    live_server: Any,
    page: Any,
    login: Any,
    superuser: Any,
    screenshot: Any,
    pki: Any,
    user_group: Any,
    device: Any,
) -> None:
    base = live_server.url
    login(page, superuser)
    root = _create_trusted_root(page, base, pki, user_group, screenshot)

    page.goto(f"{base}/admin/profiles/scepprofile/add/")
    page.fill("#id_name", "iOS user certificate")
    page.select_option("#id_platform", Platform.WINDOWS_10)
    expect(page.locator(".form-row.field-key_storage_provider")).to_be_visible()
    expect(page.locator(".form-row.field-hash_algorithms")).to_be_visible()
    expect(page.locator(".form-row.field-allow_all_apps_access")).to_be_hidden()  # macOS only
    page.select_option("#id_platform", Platform.IOS)
    expect(page.locator(".form-row.field-key_storage_provider")).to_be_hidden()  # Windows only
    expect(page.locator(".form-row.field-hash_algorithms")).to_be_hidden()  # not on iOS
    expect(page.locator(".form-row.field-validity_value")).to_be_hidden()  # the template's, on iOS
    page.select_option("#id_certificate_type", "user")
    page.select_option("#id_subject_name_format", "custom")

    subject = page.locator("#id_subject_name_format_string")
    subject.fill("CN={{UserName}},O=Contoso")
    expect(page.locator("#preview-subject")).to_have_text("CN=jdoe, O=Contoso")
    subject.fill("CN={{UserName}},O=Contoso,OU=Mobile")
    expect(page.locator("#preview-subject")).to_have_text("CN=jdoe, O=Contoso, OU=Mobile")

    subject.fill("CN={{UserName}},O=Contoso {Mobile")
    errors = page.locator("#live-errors-subject_name_format_string")
    expect(errors).to_contain_text("curly brackets not enclosing a variable in the O value")
    expect(page.locator("#preview-blocked")).to_be_visible()
    subject.fill("CN={{UserName}},O=Contoso")
    expect(errors).to_be_empty()

    san = page.locator(".profile-rows[data-name=subject_alternative_names]")
    san.locator(".row-add").click()
    san.locator('select[name="subject_alternative_names__type"]').last.select_option("upn")
    san.locator("select.variable-picker").last.select_option("{{UserPrincipalName}}")
    expect(san.locator('input[name="subject_alternative_names__value"]').last).to_have_value(
        "{{UserPrincipalName}}"
    )
    expect(page.locator("#preview-sans")).to_have_text("UPN:jdoe@corp.example.com")

    page.select_option("#id_root_profile", str(root.pk))
    page.select_option("#id_authority", str(pki.issuing.pk))
    page.select_option("#id_template", str(pki.template.pk))
    urls = page.locator(".profile-rows[data-name=scep_server_urls]")
    urls.locator(".row-add").click()
    urls.locator('input[name="scep_server_urls__url"]').last.fill(SCEP_URL)

    expect(page.locator("#preview-in-scope")).to_have_text("0 devices in scope")
    page.select_option('select[name="assignments-0-group"]', str(user_group.pk))
    expect(page.locator("#preview-in-scope")).to_have_text("1 device in scope")
    screenshot(page, "profiles-scep-editor")

    page.click('input[name="_continue"]')
    expect(page.locator(".messagelist .success")).to_contain_text("was added successfully")
    profile = ScepProfile.objects.get(name="iOS user certificate")
    assert profile.subject_name_format_string == "CN={{UserName}},O=Contoso"
    assert profile.subject_alternative_names == [{"type": "upn", "value": "{{UserPrincipalName}}"}]
    assert profile.scep_server_urls == [SCEP_URL]
    assert profile.hash_algorithms == []
    assert ProfileAssignment.objects.get(scep_profile=profile).group == user_group
    screenshot(page, "profiles-scep-editor-saved")

    device_checkin(device=device)
    page.click("text=Device status")
    expect(page).to_have_url(re.compile(rf"/admin/profiles/scepprofile/{profile.pk}/devices/$"))
    expect(page.locator("#result_list tbody tr")).to_have_count(1)
    expect(page.locator("#result_list")).to_contain_text("iPhone-1")
    expect(page.locator("#tile-pending .count")).to_have_text("1")
    screenshot(page, "profiles-device-status")


def test_a_read_only_user_sees_the_profile_without_save_buttons(
    live_server: Any,
    page: Any,
    login: Any,
    screenshot: Any,
    django_user_model: Any,
    user_with_perms: Any,
    pki: Any,
    user_group: Any,
) -> None:
    root = trusted_root_profile_create(authority=pki.root, name="Contoso Root", platform=Platform.IOS)
    profile = scep_profile_create(**profile_fields(pki, root, name="iOS user certificate"))
    assignment_create(scep_profile=profile, group=user_group)
    auditor = user_with_perms(
        "profiles.view_scepprofile", "profiles.view_profileassignment",
        "profiles.view_devicecertificatestate", "profiles.view_trustedrootprofile",
        "ca.view_certificateauthority", "ca.view_certificatetemplate", username="auditor",
    )  # fmt: skip
    auditor.is_staff = True
    auditor.save()
    login(page, auditor)

    page.goto(f"{live_server.url}/admin/profiles/scepprofile/{profile.pk}/change/")

    expect(page.locator("h1")).to_have_text("View SCEP certificate profile")
    expect(page.locator(".form-row.field-san_list .readonly")).to_have_text("UPN: {{UserPrincipalName}}")
    expect(page.locator('input[type="submit"]')).to_have_count(0)
    expect(page.locator(".profile-preview")).to_have_count(0)
    expect(page.locator("#scepprofile_form select, #scepprofile_form input[type=text]")).to_have_count(0)
    screenshot(page, "profiles-scep-read-only")
    page.click("text=Device status")
    expect(page.locator("h1")).to_have_text("Device status: iOS user certificate")
