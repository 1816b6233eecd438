"""The issue's whole procedure as one story, in a real browser, as a new administrator would do it: log in
(the dashboard), import the directory (users, a group, then devices, each CSV to 100 %), make a trusted
root and a SCEP profile with a custom subject and a UPN SAN (the stray-curly-bracket error, the live
preview following the subject), assign both to the group, give a device a check-in token, check it in
through the API and enroll it with our own SCEP client in its own process, find the certificate and the
device's "issued" state on the device, profile and certificate pages, revoke it with a reason from its
page (the state, the CRL and the 20200 event follow), and make a read-only account that sees no revoke
button. Only the CA, its template and its SCEP service are set up in code: the README's management
commands make them, not the admin.

Screenshots of each page (``procedure-*.png``, 1280x800, full page) are the artefacts to look at.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, FilePayload, Page, expect

from cryptography import x509
from cryptography.x509.oid import NameOID

from access.services.roles import roles_sync
from ca.models import IssuedCertificate
from directory.models import Device
from enrollment.models import ScepService
from portal.tests.browser.conftest import VIEWPORT
from profiles.models import ScepProfile

pytestmark = [pytest.mark.external, pytest.mark.django_db(transaction=True)]

USERS_CSV = (
    b"external_id,user_principal_name,user_name,email,display_name\n"
    b"u-jdoe,jdoe@corp.example.com,jdoe,jdoe@corp.example.com,Jane Doe\n"
    b"u-asmith,asmith@corp.example.com,asmith,asmith@corp.example.com,Alex Smith\n"
)
GROUPS_CSV = b"external_id,name,kind,members\ng-mobile,Mobile users,users,u-jdoe\n"
DEVICES_CSV = (
    b"external_id,name,platform,os_version,serial_number,primary_user\n"
    b"d-iphone-7,iPhone-7,ios,17.4,F2LX0007,u-jdoe\n"
    b"d-ipad-8,iPad-8,ios,17.2,DMPX0008,u-jdoe\n"
    b"d-laptop-9,LAPTOP-9,windows_10,10.0.22631,SN0009,u-asmith\n"
)
SUBJECT = "CN={{UserName}},OU=Mobile,O=Contoso"
READER_PASSWORD = "read-only-pw-7431"
MANAGE_PY = Path(__file__).resolve().parents[3] / "manage.py"


def _shot(screenshot: Any, page: Page, name: str) -> None:
    screenshot(page, f"procedure-{name}")


def _fits(page: Page) -> None:
    """The list needs no horizontal scrolling at 1280 px: every column is on screen, none cut off."""
    widths = page.eval_on_selector(
        "#changelist .results",
        "el => [el.scrollWidth, el.clientWidth, [...el.querySelectorAll('th')].map(th => th.offsetWidth)]",
    )
    assert widths[0] <= widths[1], (page.url, widths)


def _sections_fit(page: Page) -> None:
    """No section of the device page needs horizontal scrolling (its tables' last column is whole)."""
    overflowing = page.eval_on_selector_all(
        ".dp-section", "els => els.filter(el => el.scrollWidth > el.clientWidth).map(el => el.id)"
    )
    assert overflowing == [], (page.url, overflowing)


def _import(page: Page, base: str, screenshot: Any, name: str, content: bytes, created: int) -> None:
    """Upload ``content`` from the import list and watch the job reach 100 %."""
    page.goto(f"{base}/admin/directory/importjob/")
    page.get_by_role("link", name="Import a file").click()
    upload: FilePayload = {"name": name, "mimeType": "text/csv", "buffer": content}
    page.set_input_files("input[name=file]", files=[upload])
    page.get_by_role("button", name="Import").click()
    expect(page.locator("#import-status")).to_have_attribute("data-status", "done")
    expect(page.locator("#import-percent")).to_have_text("100 %")
    expect(page.locator("#import-progress")).to_have_attribute("value", "100")
    expect(page.locator("#import-counts")).to_contain_text(f"{created}created")
    expect(page.locator("#import-errors tr.dp-row-error")).to_have_count(0)
    _shot(screenshot, page, f"import-{Path(name).stem}")


def _create_trusted_root(page: Page, base: str, screenshot: Any, root_name: str) -> None:
    page.goto(f"{base}/admin/")
    page.locator("#nav-sidebar").get_by_role("link", name="Trusted certificate profiles").click()
    page.get_by_role("link", name=re.compile("^Add ")).click()
    page.fill("#id_name", "Contoso Root")
    page.select_option("#id_platform", "ios")
    page.select_option("#id_authority", label=root_name)
    page.select_option('select[name="assignments-0-group"]', label="Mobile users (user group)")
    _shot(screenshot, page, "trusted-root-editor")
    page.click('input[name="_save"]')
    expect(page.locator(".messagelist .success")).to_contain_text("was added successfully")


def _create_scep_profile(page: Page, base: str, screenshot: Any, pki: Any, service_url: str) -> ScepProfile:
    page.goto(f"{base}/admin/")
    page.locator("#nav-sidebar").get_by_role("link", name="SCEP certificate profiles").click()
    page.get_by_role("link", name=re.compile("^Add ")).click()
    page.fill("#id_name", "iOS user certificate")
    page.select_option("#id_platform", "ios")
    page.select_option("#id_certificate_type", "user")
    page.select_option("#id_subject_name_format", "custom")
    page.select_option("#id__preview_for", label="jdoe@corp.example.com")

    # The live preview follows the subject as it is typed; a stray curly bracket is refused next to it.
    subject = page.locator("#id_subject_name_format_string")
    subject.fill("CN={{UserName}},O=Contoso")
    expect(page.locator("#preview-subject")).to_have_text("CN=jdoe, O=Contoso")
    subject.fill("CN={{UserName}},OU=Mobile {Fleet,O=Contoso")
    errors = page.locator("#live-errors-subject_name_format_string")
    expect(errors).to_contain_text("curly brackets not enclosing a variable in the OU value")
    expect(page.locator("#preview-blocked")).to_be_visible()
    box = subject.bounding_box()
    assert box is not None
    assert box["width"] > 250  # the error goes under the field, which keeps its width
    _shot(screenshot, page, "scep-editor-curly-bracket")
    subject.fill(SUBJECT)
    expect(errors).to_be_empty()
    expect(page.locator("#preview-subject")).to_have_text("CN=jdoe, OU=Mobile, O=Contoso")

    san = page.locator(".profile-rows[data-name=subject_alternative_names]")
    san.locator(".row-add").click()
    san.locator('select[name="subject_alternative_names__type"]').last.select_option("upn")
    san.locator("select.variable-picker").last.select_option("{{UserPrincipalName}}")
    expect(page.locator("#preview-sans")).to_have_text("UPN:jdoe@corp.example.com")

    page.select_option("#id_root_profile", label="Contoso Root (iOS)")
    page.select_option("#id_authority", label=pki.issuing.name)
    page.select_option("#id_template", str(pki.template.pk))
    urls = page.locator(".profile-rows[data-name=scep_server_urls]")
    urls.locator(".row-add").click()
    urls.locator('input[name="scep_server_urls__url"]').last.fill(service_url)
    page.select_option('select[name="assignments-0-group"]', label="Mobile users (user group)")
    expect(page.locator("#preview-in-scope")).to_have_text("0 devices in scope")  # no devices imported yet
    _shot(screenshot, page, "scep-editor")
    page.click('input[name="_continue"]')
    expect(page.locator(".messagelist .success")).to_contain_text("was added successfully")
    return ScepProfile.objects.get(name="iOS user certificate")


def _enroll(base: str, device: Device, token: str, tmp_path: Path) -> x509.Certificate:
    """``manage.py scep_enroll --from-checkin``, the device's side, in its own process (HTTP and JSON)."""
    tmp_path.mkdir()
    result = subprocess.run(
        [
            sys.executable, str(MANAGE_PY), "scep_enroll",
            "--from-checkin", f"{base}/api/v1/checkin/",
            "--device", device.external_id,
            "--device-token", token,
            "--key", str(tmp_path / "device.key"),
            "--out", str(tmp_path / "device.pem"),
        ],
        capture_output=True, text=True, timeout=120, check=False,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "portal.settings.test"},
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SCEP profile 'iOS user certificate'" in result.stdout
    return x509.load_pem_x509_certificate((tmp_path / "device.pem").read_bytes())


def _create_read_only_account(page: Page, base: str, screenshot: Any) -> None:
    page.goto(f"{base}/admin/")
    page.locator("#nav-sidebar").get_by_role("link", name="Portal accounts").click()
    page.get_by_role("link", name=re.compile("^Add ")).click()
    page.fill("#id_username", "auditor")
    page.fill("#id_password1", READER_PASSWORD)
    page.fill("#id_password2", READER_PASSWORD)
    page.click('input[name="_continue"]')
    expect(page.locator(".messagelist .success")).to_contain_text("was added successfully")
    page.check("#id_is_staff")
    page.select_option("#id_groups_from", label="Read-only")
    page.click("#id_groups_add")
    expect(page.locator("#id_groups_to option")).to_have_text(["Read-only"])
    _shot(screenshot, page, "account-read-only")
    page.click('input[name="_save"]')
    expect(page.locator(".messagelist .success")).to_contain_text("was changed successfully")


def test_a_new_admin_creates_assigns_enrolls_and_revokes(
    live_server: Any,
    browser: Browser,
    page: Page,
    login: Any,
    superuser: Any,
    screenshot: Any,
    pki: Any,
    scep_service: ScepService,
    tmp_path: Path,
) -> None:
    base = live_server.url

    # Logging in lands on the dashboard.
    login(page, superuser)
    expect(page).to_have_url(f"{base}/admin/")
    expect(page.locator(".cp-dash")).to_be_visible()
    _shot(screenshot, page, "dashboard-empty")

    # The directory: users and their group first, so that the profiles can be assigned to it.
    _import(page, base, screenshot, "users.csv", USERS_CSV, created=2)
    _import(page, base, screenshot, "groups.csv", GROUPS_CSV, created=1)

    # The trusted root and the SCEP profile, assigned to the group.
    _create_trusted_root(page, base, screenshot, pki.root.name)
    profile = _create_scep_profile(page, base, screenshot, pki, f"{base}/scep/{scep_service.slug}")
    assert profile.subject_name_format_string == SUBJECT
    assert profile.subject_alternative_names == [{"type": "upn", "value": "{{UserPrincipalName}}"}]

    # The devices: the group's user's two are in scope, the other user's laptop is not.
    _import(page, base, screenshot, "devices.csv", DEVICES_CSV, created=3)
    page.goto(f"{base}/admin/profiles/scepprofile/{profile.pk}/change/")
    expect(page.locator("#preview-in-scope")).to_have_text("2 devices in scope")
    _shot(screenshot, page, "scep-profile-saved")

    # Each device's page: a new check-in token, shown once; the device checks in through the API (its
    # payload has the SCEP profile, rendered for its user) and enrolls with a real client.
    page.goto(f"{base}/admin/")
    page.locator("#nav-sidebar").get_by_role("link", name="Devices", exact=True).click()
    expect(page.locator("#result_list tbody tr")).to_have_count(3)
    expect(page.locator("h1")).to_have_text("Devices")
    _fits(page)
    _shot(screenshot, page, "device-list")
    certificates = {}
    for name in ("iPhone-7", "iPad-8"):
        page.goto(f"{base}/admin/profiles/manageddevice/")
        page.get_by_role("link", name=name, exact=True).click()
        expect(page.locator("#device-page")).to_be_visible()
        page.get_by_role("link", name="New check-in token…").click()
        page.get_by_role("button", name="Issue the new token").click()
        token = page.locator("#checkin-token").inner_text().strip()
        _shot(screenshot, page, "device-checkin-token")
        device = Device.objects.get(name=name)
        checkin = page.request.get(
            f"{base}/api/v1/checkin/", headers={"Authorization": f"Device {device.external_id}:{token}"}
        )
        assert checkin.status == 200, checkin.text()
        delivered = json.loads(checkin.body())["scep"]
        assert [(item["profile"], item["subject"]) for item in delivered] == [
            ("iOS user certificate", "O=Contoso,OU=Mobile,CN=jdoe")  # RFC 4514: the last RDN first
        ]
        certificates[name] = _enroll(base, device, token, tmp_path / name)
    device = Device.objects.get(name="iPhone-7")
    certificate = certificates["iPhone-7"]
    assert certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "jdoe"
    by_serial = {row.serial_int: row for row in IssuedCertificate.objects.all()}
    issued, kept = by_serial[certificate.serial_number], by_serial[certificates["iPad-8"].serial_number]

    # Its certificate and its "issued" state: on the device page, the profile's device status, the list.
    page.goto(f"{base}/admin/profiles/manageddevice/{device.pk}/change/")
    row = page.locator("#device-profiles tr", has_text="iOS user certificate")
    expect(row.locator(".dp-state")).to_have_text("Issued")
    expect(page.locator(f'#device-certificates td[title="{issued.serial}"]')).to_have_count(1)
    _shot(screenshot, page, "device-issued")
    page.goto(f"{base}/admin/profiles/scepprofile/{profile.pk}/change/")
    page.get_by_role("link", name=re.compile("Device status")).first.click()
    expect(page.locator("#tile-succeeded .count")).to_have_text("2")
    expect(page.locator("#result_list tr", has_text="iPhone-7")).to_contain_text("Issued")
    _shot(screenshot, page, "profile-device-status")
    page.goto(f"{base}/admin/")
    page.locator("#nav-sidebar").get_by_role("link", name="Certificates", exact=True).click()
    page.fill("#searchbar", "iPhone-7")
    page.press("#searchbar", "Enter")
    listed = page.locator("#result_list tbody tr")
    expect(listed).to_have_count(1)
    expect(listed).to_contain_text("O=Contoso, OU=Mobile, CN=jdoe")  # as Windows shows it: the last RDN first
    _fits(page)
    _shot(screenshot, page, "certificate-list-filtered")

    # Revoke it with a reason from its page.
    listed.get_by_role("link").first.click()
    expect(page.locator("#certificate-status")).to_have_text("issued")
    _shot(screenshot, page, "certificate")
    page.click("#revoke-button")
    page.select_option("select[name=reason]", "key_compromise")
    page.fill("textarea[name=comment]", "iPhone-7 reported lost")
    _shot(screenshot, page, "certificate-revoke")
    page.click("#confirm-revoke")
    expect(page.locator("#certificate-status")).to_have_text("revoked")
    expect(page.locator("#serial")).to_have_text(issued.serial)
    expect(page.locator("body")).to_contain_text("Revoked: revoked by an administrator (key compromise)")
    _shot(screenshot, page, "certificate-revoked")

    # The device's state, the CRL and the connector event follow.
    page.goto(f"{base}/admin/profiles/manageddevice/{device.pk}/change/")
    expect(row.locator(".dp-state")).to_have_text("Revoked")
    _sections_fit(page)
    _shot(screenshot, page, "device-revoked")
    crl = x509.load_der_x509_crl(page.request.get(f"{base}/crl/{pki.issuing.slug}.crl").body())
    entry = crl.get_revoked_certificate_by_serial_number(certificate.serial_number)
    assert entry is not None
    reason = entry.extensions.get_extension_for_class(x509.CRLReason).value.reason
    assert reason == x509.ReasonFlags.key_compromise
    page.goto(f"{base}/admin/")
    page.locator("#nav-sidebar").get_by_role("link", name="Connector events", exact=True).click()
    event = page.locator("#result_list tbody tr", has_text="20200")
    expect(event).to_have_count(1)
    expect(event).to_contain_text("RevokeCert_Success")
    _fits(page)
    _shot(screenshot, page, "events")
    page.goto(f"{base}/admin/")
    expect(page.locator("#count-revoked .num")).to_have_text("1")
    expect(page.locator("#count-revoked")).to_have_class(
        re.compile(r"\bquiet\b")
    )  # grey, not "all good" green
    _shot(screenshot, page, "dashboard")

    # A read-only account sees the iPad's certificate and no revoke button.
    roles_sync()  # migrate makes the roles; the flushed test database may have lost them
    _create_read_only_account(page, base, screenshot)
    reader = browser.new_context(viewport=VIEWPORT)
    try:
        reading = reader.new_page()
        reading.goto(f"{base}/admin/login/")
        reading.fill("#id_username", "auditor")
        reading.fill("#id_password", READER_PASSWORD)
        reading.click("input[type=submit]")
        expect(reading).to_have_url(f"{base}/admin/")
        reading.goto(f"{base}/admin/ca/issuedcertificate/{kept.pk}/change/")
        expect(reading.locator("#certificate-status")).to_have_text("issued")
        expect(reading.locator("#download-pem")).to_be_visible()
        expect(reading.locator("#revoke-button")).to_have_count(0)
        _shot(screenshot, reading, "certificate-read-only")
    finally:
        reader.close()
