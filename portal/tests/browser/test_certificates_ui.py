"""A certificate's page in a real browser: the decoded certificate, revocation with a reason after a
confirmation (the CRL lists it and the event log says so), and nothing to press for a read-only user.
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from cryptography import x509

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from access.services.roles import roles_sync
from ca.models import IssuedCertificate

pytestmark = [pytest.mark.external, pytest.mark.django_db(transaction=True)]


def test_revoke_a_certificate_from_its_page(
    live_server: Any, page: Any, login: Any, superuser: Any, screenshot: Any, pki: Any, issue: Any
) -> None:
    certificate = IssuedCertificate.objects.get(
        request=issue(common_name="laptop-9", sans=[x509.DNSName("laptop-9.corp.example")])
    )
    login(page, superuser)

    page.goto(f"{live_server.url}/admin/ca/issuedcertificate/")
    page.get_by_role("link", name="CN=laptop-9").click()
    expect(page.locator("#certificate-status")).to_have_text("issued")
    expect(page.locator("#serial")).to_have_text(certificate.serial)
    expect(page.locator("#thumbprint-sha1")).to_have_text(certificate.fingerprint_sha1)
    expect(page.locator("#thumbprint-sha256")).to_have_text(certificate.fingerprint_sha256)
    expect(page.locator("#ekus")).to_contain_text("Client Authentication")
    expect(page.locator("#key-usage")).to_contain_text("Digital signature")
    expect(page.locator("body")).to_contain_text("DNS:laptop-9.corp.example")
    expect(page.locator("#chain")).to_contain_text("Test Root CA")
    screenshot(page, "certificate")

    page.click("#revoke-button")
    expect(page.locator("#revoke-subject")).to_have_text("CN=laptop-9")
    page.select_option("select[name=reason]", "key_compromise")
    page.fill("textarea[name=comment]", "laptop stolen")
    screenshot(page, "certificate-revoke")
    page.click("#confirm-revoke")

    expect(page.locator("#certificate-status")).to_have_text("revoked")
    expect(page.locator(".cp-alert")).to_contain_text("Key compromise")
    expect(page.locator("#revoke-button")).to_have_count(0)
    crl = x509.load_der_x509_crl(page.request.get(f"{live_server.url}/crl/{pki.issuing.slug}.crl").body())
    entry = crl.get_revoked_certificate_by_serial_number(certificate.serial_int)
    assert entry is not None
    assert (
        entry.extensions.get_extension_for_class(x509.CRLReason).value.reason
        == x509.ReasonFlags.key_compromise
    )

    page.goto(f"{live_server.url}/admin/eventlog/connectorevent/?q={certificate.serial}")
    expect(page.locator("#result_list")).to_contain_text("RevokeCert_Success")


def test_a_read_only_user_sees_no_revoke_button_and_a_post_is_refused(
    live_server: Any, page: Any, login: Any, issue: Any
) -> None:
    certificate = IssuedCertificate.objects.get(request=issue(common_name="kept"))
    roles_sync()
    reader = get_user_model().objects.create_user("auditor", is_staff=True)
    reader.groups.add(Group.objects.get(name="Read-only"))
    login(page, reader)

    page.goto(f"{live_server.url}/admin/ca/issuedcertificate/{certificate.pk}/change/")
    expect(page.locator("#certificate-status")).to_have_text("issued")
    expect(page.locator("#revoke-button")).to_have_count(0)
    expect(page.locator("#download-pem")).to_be_visible()
    page.goto(f"{live_server.url}/admin/ca/issuedcertificate/")
    expect(page.locator("select[name=action]")).to_have_count(0)

    csrf = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    refused = page.request.post(
        f"{live_server.url}/admin/ca/issuedcertificate/{certificate.pk}/revoke/",
        form={"reason": "key_compromise", "csrfmiddlewaretoken": csrf},
        headers={"Referer": f"{live_server.url}/admin/"},
    )
    assert refused.status == 403
    assert "CSRF" not in refused.text()
    certificate.refresh_from_db()
    assert certificate.revoked_at is None
