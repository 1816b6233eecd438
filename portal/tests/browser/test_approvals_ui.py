"""The pending-requests queue in a real browser: a certificate manager approves a request from it."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from access.services.roles import roles_sync
from ca.choices import CertificateRequestStatus
from ca.models import IssuedCertificate

pytestmark = [pytest.mark.external, pytest.mark.django_db(transaction=True)]


def test_a_certificate_manager_approves_from_the_queue(
    live_server: Any, page: Any, login: Any, screenshot: Any, pki: Any, issue: Any
) -> None:
    pki.template.requires_approval = True
    pki.template.save()
    waiting = issue(common_name="needs-approval")
    other = issue(common_name="stays-pending")
    assert waiting.status == other.status == CertificateRequestStatus.PENDING_APPROVAL
    roles_sync()
    manager = get_user_model().objects.create_user("cert-manager", is_staff=True)
    manager.groups.add(Group.objects.get(name="Certificate manager"))
    login(page, manager)

    page.locator("#nav-sidebar").get_by_role("link", name="Pending requests").click()
    row = page.locator(f"#request-{waiting.pk}")
    expect(row).to_contain_text("CN=needs-approval")
    expect(page.locator("#pending-requests tbody tr")).to_have_count(2)
    screenshot(page, "pending-requests")
    row.locator("input[type=text]").fill("known laptop")
    row.get_by_role("button", name="Approve").click()

    expect(page.locator(".messagelist")).to_contain_text(f"Request {waiting.pk} (CN=needs-approval) approved")
    expect(page.locator("#pending-requests tbody tr")).to_have_count(1)
    waiting.refresh_from_db()
    assert waiting.status == CertificateRequestStatus.ISSUED
    assert IssuedCertificate.objects.filter(request=waiting).exists()


def test_the_queue_is_not_offered_to_a_read_only_user(
    live_server: Any, page: Any, login: Any, pki: Any
) -> None:
    roles_sync()
    reader = get_user_model().objects.create_user("auditor-2", is_staff=True)
    reader.groups.add(Group.objects.get(name="Read-only"))
    login(page, reader)

    expect(page.locator("#nav-sidebar").get_by_role("link", name="Pending requests")).to_have_count(0)
    response = page.goto(f"{live_server.url}/admin/ca/certificaterequest/pending/")
    assert response is not None
    assert response.status == 403
