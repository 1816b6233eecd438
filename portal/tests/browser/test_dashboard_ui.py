"""The dashboard in a real browser: logging in lands on it, and each count opens the list it counts."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from ca.models import IssuedCertificate

pytestmark = [pytest.mark.external, pytest.mark.django_db(transaction=True)]


def test_logging_in_lands_on_the_dashboard_and_counts_open_their_lists(
    live_server: Any,
    page: Any,
    login: Any,
    superuser: Any,
    screenshot: Any,
    pki: Any,
    issue: Any,
    revoke: Any,
) -> None:
    pki.template.allow_requester_validity = True
    pki.template.save()
    issue(common_name="laptop-1")
    issue(common_name="short-lived", validity_days=10)
    revoke(IssuedCertificate.objects.get(request=issue(common_name="stolen")))

    login(page, superuser)

    assert page.url == f"{live_server.url}/admin/"
    expect(page.locator("h1")).to_have_text("Dashboard")
    expect(page.locator("#count-valid .num")).to_have_text("2")
    expect(page.locator("#count-expiring .num")).to_have_text("1")
    expect(page.locator("#count-revoked .num")).to_have_text("1")
    expect(page.locator("svg.cp-chart")).to_have_count(3)
    nav = page.locator("#nav-sidebar")
    for group in ("Devices", "Users and groups", "Certificate profiles", "Certificates", "Connector events"):
        expect(nav.locator("caption .section").get_by_text(group, exact=True)).to_be_visible()
    screenshot(page, "dashboard")

    page.click("#count-expiring")
    expect(page.locator("#result_list tbody tr")).to_have_count(1)
    expect(page.locator("#result_list")).to_contain_text("short-lived")
    screenshot(page, "certificates-expiring")

    page.goto(f"{live_server.url}/admin/")
    page.click("#count-revoked")
    expect(page.locator("#result_list tbody tr")).to_have_count(1)
    expect(page.locator("#result_list")).to_contain_text("stolen")
    expect(page.locator("#result_list")).to_contain_text("Revoked")

    page.goto(f"{live_server.url}/admin/")
    page.click("#count-valid")
    expect(page.locator("#result_list tbody tr")).to_have_count(2)
    # At 1280 px every column fits: the table is no wider than its box, the status is the second column.
    table = page.locator("#result_list").bounding_box()
    results = page.locator("#changelist .results").bounding_box()
    assert table is not None
    assert results is not None
    assert table["x"] + table["width"] <= results["x"] + results["width"] + 1
    assert results["x"] + results["width"] <= 1280
    expect(page.locator("#result_list thead th").nth(2)).to_have_class(re.compile("column-status_display"))
    screenshot(page, "certificates")


def test_the_root_sends_a_logged_in_admin_to_the_dashboard(
    live_server: Any, page: Any, login: Any, superuser: Any
) -> None:
    login(page, superuser)
    page.goto(f"{live_server.url}/")
    assert page.url == f"{live_server.url}/admin/"


def test_the_ca_and_template_pages(
    live_server: Any, page: Any, login: Any, superuser: Any, screenshot: Any, pki: Any
) -> None:
    login(page, superuser)

    page.goto(f"{live_server.url}/admin/ca/certificateauthority/")
    expect(page.locator("#result_list")).to_contain_text("Test Issuing CA")
    screenshot(page, "authorities")
    page.goto(f"{live_server.url}/admin/ca/certificateauthority/{pki.issuing.pk}/change/")
    expect(page.locator(".field-downloads")).to_contain_text("certificate (.cer)")
    expect(page.locator(".field-chain_display")).to_contain_text("CN=Test Root CA")
    screenshot(page, "authority")

    page.goto(f"{live_server.url}/admin/ca/certificatetemplate/{pki.template.pk}/change/")
    for heading in (
        "Request handling",
        "Subject name",
        "Extensions",
        "Cryptography",
        "Security",
        "Issuance requirements",
    ):
        expect(page.locator("fieldset h2", has_text=heading)).to_have_count(1)
    expect(page.get_by_label("Client Authentication (1.3.6.1.5.5.7.3.2)")).to_be_checked()
    expect(page.locator("textarea[name=application_policies]")).to_have_count(0)
    page.get_by_label("Server Authentication (1.3.6.1.5.5.7.3.1)").check()
    screenshot(page, "template")
    page.click("input[name=_save]")
    expect(page.locator(".messagelist")).to_contain_text("was changed successfully")
    pki.template.refresh_from_db()
    assert set(pki.template.application_policies) == {"1.3.6.1.5.5.7.3.2", "1.3.6.1.5.5.7.3.1"}
