"""Connector events in a real browser: filtered by code, each code with the reference's name and what to
do, SCEP numbers as names and subjects without OIDs.
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from eventlog.choices import DiagnosticCode, EventId, EventLevel
from eventlog.services import event_record

pytestmark = [pytest.mark.external, pytest.mark.django_db(transaction=True)]


def test_the_events_page_names_the_code_and_says_what_to_do(
    live_server: Any, page: Any, login: Any, superuser: Any, screenshot: Any
) -> None:
    event_record(
        event_id=EventId.CRP_VERIFY_WARNING,
        level=EventLevel.WARNING,
        message="challenge rejected: expired",
        diagnostic_code=DiagnosticCode.CRP_SCEP_CHALLENGE_EXPIRED,
        device_external_id="intune-device-42",
        user_principal_name="ada@corp.example.com",
    )
    event_record(
        event_id=EventId.SCEP_VERIFY_FAILURE,
        level=EventLevel.ERROR,
        message="subject mismatch: received 1.2.840.113549.1.9.1=eve@corp.example.com,CN=eve",
        diagnostic_code=DiagnosticCode.UNKNOWN_ERROR,
        details={"received_subject": "1.2.840.113549.1.9.1=eve@corp.example.com,CN=eve"},
        fail_info=2,
        message_type=19,
    )
    event_record(
        event_id=EventId.DEVICE_CHECK_IN, message="checked in", diagnostic_code=DiagnosticCode.SUCCESS
    )
    login(page, superuser)

    page.goto(f"{live_server.url}/admin/eventlog/connectorevent/")
    expect(page.locator("#result_list tbody tr")).to_have_count(3)
    expect(page.locator("#result_list")).to_contain_text("0x00000411 CRPSCEPChallenge_Expired")
    expect(page.locator("#result_list")).to_contain_text("E=eve@corp.example.com")
    expect(page.locator("#result_list")).not_to_contain_text("1.2.840.113549.1.9.1")
    screenshot(page, "events")

    page.locator("#changelist-filter").get_by_role("link", name="0x00000411 CRPSCEPChallenge_Expired").click()
    expect(page.locator("#result_list tbody tr")).to_have_count(1)
    page.fill("#changelist-filter input[name=user]", "ada@corp")
    page.press("#changelist-filter input[name=user]", "Enter")
    expect(page.locator("#result_list tbody tr")).to_have_count(1)
    assert "diagnostic_code=1041" in page.url
    page.locator("#result_list tbody tr th a").first.click()
    expect(page.locator(".field-diagnostic")).to_contain_text("0x00000411 CRPSCEPChallenge_Expired")
    expect(page.locator(".field-diagnostic_message")).to_contain_text(
        "Request denied due to expired certificate challenge"
    )
    expect(page.locator(".field-diagnostic_action")).to_contain_text("it gets a new one at its next check-in")
    screenshot(page, "event")

    page.goto(
        f"{live_server.url}/admin/eventlog/connectorevent/?event_id={EventId.SCEP_VERIFY_FAILURE.value}"
    )
    page.locator("#result_list tbody tr th a").first.click()
    expect(page.locator(".field-fail_info_display")).to_contain_text("badRequest (2)")
    expect(page.locator(".field-message_type_display")).to_contain_text("PKCSReq (19)")
    expect(page.locator(".field-details_display")).to_contain_text("E=eve@corp.example.com,CN=eve")
