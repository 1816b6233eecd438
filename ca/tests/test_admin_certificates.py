"""The admin's certificate pages: the decoded certificate, downloads, revocation with a reason and a
confirmation (refused without the revoke right), CSV export of a filtered list; the pending-requests queue.
"""

from __future__ import annotations

import csv
import io

import pytest

from cryptography import x509
from cryptography.x509.oid import NameOID

from django.test import Client
from django.urls import reverse

from ca.choices import CertificateRequestStatus, RevocationReason
from ca.models import IssuedCertificate
from ca.tests.pki import make_csr

READ_ONLY = ("ca.view_issuedcertificate", "ca.view_certificaterequest")


def _page(certificate: IssuedCertificate) -> str:
    return reverse("admin:ca_issuedcertificate_change", args=[certificate.pk])


def _revoke(certificate: IssuedCertificate) -> str:
    return reverse("admin:ca_issuedcertificate_revoke", args=[certificate.pk])


@pytest.fixture
def staff_with(client: Client, user_with_perms):
    def _login(*perms: str) -> Client:
        user = user_with_perms(*perms, username="staff-" + "-".join(p.split(".")[1] for p in perms)[:100])
        user.is_staff = True
        user.save(update_fields=["is_staff"])
        client.force_login(user)
        return client

    return _login


@pytest.fixture
def rich(issue, rsa2048_key) -> IssuedCertificate:
    """A certificate with an email attribute (an OID in RFC 4514) and SANs."""
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, "laptop-7"),
            x509.NameAttribute(NameOID.EMAIL_ADDRESS, "ada@example.com"),
        ]
    )
    csr, _ = make_csr(rsa2048_key, common_name="laptop-7")
    request = issue(
        csr, subject=subject, sans=[x509.DNSName("laptop-7.corp.example"), x509.RFC822Name("ada@example.com")]
    )
    return IssuedCertificate.objects.get(request=request)


def test_the_page_shows_the_decoded_certificate(admin_client: Client, rich, pki):
    page = admin_client.get(_page(rich)).content.decode()

    assert "Common name <small>(CN)</small></dt><dd>laptop-7" in page
    assert "Email address <small>(E)</small></dt><dd>ada@example.com" in page
    assert "1.2.840.113549.1.9.1" not in page
    assert "DNS:laptop-7.corp.example" in page
    assert "email:ada@example.com" in page
    assert "Client Authentication (1.3.6.1.5.5.7.3.2)" in page
    assert "Digital signature, Key encipherment" in page
    assert rich.fingerprint_sha1 in page
    assert rich.fingerprint_sha256 in page
    assert rich.serial in page
    assert pki.root.name in page
    assert pki.issuing.name in page
    assert 'id="revoke-button"' in page
    assert 'name="_save"' not in page  # a record: no save buttons


def test_downloads(admin_client: Client, rich):
    def download(kind: str) -> bytes:
        response = admin_client.get(reverse("admin:ca_issuedcertificate_download", args=[rich.pk, kind]))
        assert response.status_code == 200
        assert "attachment" in response["Content-Disposition"]
        return response.content

    assert x509.load_pem_x509_certificate(download("pem")).serial_number == rich.serial_int
    assert x509.load_der_x509_certificate(download("der")).serial_number == rich.serial_int
    assert len(x509.load_pem_x509_certificates(download("chain"))) == 3


@pytest.mark.django_db(transaction=True)  # the revocation request is sent to the CA when it commits
def test_revoking_from_the_page_asks_first_then_revokes_with_the_reason(admin_client: Client, pki, issued):
    confirm = admin_client.get(_revoke(issued))
    assert confirm.status_code == 200
    assert "issued-1" in confirm.content.decode()
    assert 'name="reason"' in confirm.content.decode()
    issued.refresh_from_db()
    assert issued.revoked_at is None

    done = admin_client.post(_revoke(issued), {"reason": RevocationReason.KEY_COMPROMISE}, follow=True)

    issued.refresh_from_db()
    assert issued.revocation_reason == RevocationReason.KEY_COMPROMISE
    crl = x509.load_der_x509_crl(admin_client.get(f"/crl/{pki.issuing.slug}.crl").content)
    assert crl.get_revoked_certificate_by_serial_number(issued.serial_int) is not None
    page = done.content.decode()
    assert 'id="certificate-status">revoked' in page
    assert 'id="revoke-button"' not in page


def test_a_read_only_user_sees_no_revoke_and_is_refused(staff_with, issued):
    client = staff_with(*READ_ONLY)

    page = client.get(_page(issued)).content.decode()
    refused_get = client.get(_revoke(issued))
    refused_post = client.post(_revoke(issued), {"reason": "key_compromise"})

    assert "issued-1" in page
    assert "Revoke" not in page
    assert (refused_get.status_code, refused_post.status_code) == (403, 403)
    issued.refresh_from_db()
    assert issued.revoked_at is None


def test_without_the_view_right_there_is_no_page(staff_with, issued):
    client = staff_with("ca.view_certificatetemplate")

    assert client.get(_page(issued)).status_code == 403
    assert (
        client.get(reverse("admin:ca_issuedcertificate_download", args=[issued.pk, "pem"])).status_code == 403
    )
    assert client.get(reverse("admin:ca_issuedcertificate_export")).status_code == 403


@pytest.mark.django_db(transaction=True)
def test_csv_export_keeps_the_filter(admin_client: Client, issue, revoke):
    keep = IssuedCertificate.objects.get(request=issue(common_name="keep"))
    gone = revoke(IssuedCertificate.objects.get(request=issue(common_name="gone")))

    listed = admin_client.get(reverse("admin:ca_issuedcertificate_changelist"), {"status": "revoked"})
    exported = admin_client.get(reverse("admin:ca_issuedcertificate_export"), {"status": "revoked"})

    assert 'href="/admin/ca/issuedcertificate/export.csv?status=revoked"' in listed.content.decode()
    rows = list(csv.DictReader(io.StringIO(exported.getvalue().decode())))
    assert [row["serial"] for row in rows] == [gone.serial]
    assert rows[0]["status"] == "revoked"
    assert keep.serial not in {row["serial"] for row in rows}


@pytest.mark.parametrize("value", ["30d", "2999-01-01"])
def test_the_expiring_filter(admin_client: Client, issued, value):
    response = admin_client.get(reverse("admin:ca_issuedcertificate_changelist"), {"expires_before": value})
    assert response.context["cl"].result_count == (1 if value == "2999-01-01" else 0)


def test_the_list_shows_the_status_early(admin_client: Client, issued):
    response = admin_client.get(reverse("admin:ca_issuedcertificate_changelist"))
    columns = list(response.context["cl"].list_display)
    assert columns.index("status_display") <= 2


# --- the pending-requests queue -----------------------------------------------------------------------


@pytest.fixture
def pending(pki, issue):
    pki.template.requires_approval = True
    pki.template.save()
    request = issue(common_name="waits")
    assert request.status == CertificateRequestStatus.PENDING_APPROVAL
    return request


def test_the_queue_lists_pending_requests_for_certificate_managers(staff_with, pending):
    client = staff_with("ca.view_certificaterequest", "ca.approve_certificaterequest")

    page = client.get(reverse("admin:ca_certificaterequest_pending")).content.decode()

    assert f'id="request-{pending.pk}"' in page
    assert "CN=waits" in page


def test_approving_from_the_queue_issues(staff_with, pending, django_capture_on_commit_callbacks):
    client = staff_with("ca.view_certificaterequest", "ca.approve_certificaterequest")
    decide = reverse("admin:ca_certificaterequest_decide", args=[pending.pk])

    with django_capture_on_commit_callbacks(execute=True):
        client.post(decide, {f"r{pending.pk}-decision": "approve", f"r{pending.pk}-comment": "ok"})

    pending.refresh_from_db()
    assert pending.status == CertificateRequestStatus.ISSUED
    assert pending.decided_by == "admin:staff-view_certificaterequest-approve_certificaterequest"


def test_denying_from_the_queue_keeps_the_comment(staff_with, pending):
    client = staff_with("ca.view_certificaterequest", "ca.approve_certificaterequest")
    decide = reverse("admin:ca_certificaterequest_decide", args=[pending.pk])

    client.post(decide, {f"r{pending.pk}-decision": "deny", f"r{pending.pk}-comment": "not our device"})

    pending.refresh_from_db()
    assert (pending.status, pending.failure_reason) == (CertificateRequestStatus.DENIED, "not our device")
    assert not IssuedCertificate.objects.filter(request=pending).exists()


def test_the_queue_is_for_certificate_managers_only(staff_with, pending):
    client = staff_with(*READ_ONLY)
    decide = reverse("admin:ca_certificaterequest_decide", args=[pending.pk])

    assert client.get(reverse("admin:ca_certificaterequest_pending")).status_code == 403
    assert client.post(decide, {f"r{pending.pk}-decision": "approve"}).status_code == 403
    pending.refresh_from_db()
    assert pending.status == CertificateRequestStatus.PENDING_APPROVAL
