"""/api/v1/certificates/: list with filters, detail, and the revoke action with its permission."""

from __future__ import annotations

import datetime as dt

import pytest
from kombu.exceptions import OperationalError as KombuOperationalError

from cryptography import x509

from django.db import connection
from django.test import TestCase
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from ca.models import CertificateTemplate, IssuedCertificate, RevocationRequest
from ca.services import revocation_requests
from ca.services.revocation_requests import certificate_revoke_by_admin
from eventlog.choices import DiagnosticCode, EventId
from eventlog.models import ConnectorEvent

URL = "/api/v1/certificates/"
VIEW = "ca.view_issuedcertificate"
REVOKE = "ca.revoke_issuedcertificate"


@pytest.fixture
def viewer(api_client_for):
    return api_client_for(VIEW)


def _serials(response) -> set[str]:
    assert response.status_code == 200, response.content
    return {item["serial"] for item in response.json()["results"]}


def test_anonymous_is_unauthorized(issued):
    client = APIClient()
    assert client.get(URL).status_code == 401
    assert client.get(f"{URL}{issued.pk}/").status_code == 401
    assert (
        client.post(f"{URL}{issued.pk}/revoke/", {"reason": "superseded"}, format="json").status_code == 401
    )
    issued.refresh_from_db()
    assert issued.revoked_at is None


def test_list_needs_the_view_permission(issued, api_client_for):
    assert api_client_for().get(URL).status_code == 403
    assert _serials(api_client_for(VIEW).get(URL)) == {issued.serial}


def test_detail(issued, viewer):
    response = viewer.get(f"{URL}{issued.pk}/")
    assert response.status_code == 200
    data = response.json()
    assert data["serial"] == issued.serial
    assert (data["authority"], data["template"], data["request"]) == (
        "test-issuing",
        "TestClientAuth",
        issued.request_id,
    )
    assert data["subject"] == "CN=issued-1"
    assert data["status"] == "issued"
    assert data["revoked_at"] is None
    assert data["revocation_reason"] == ""
    assert data["fingerprint_sha1"] == issued.fingerprint_sha1
    assert x509.load_pem_x509_certificate(data["pem"].encode()) == issued.certificate


def test_filter_by_status(pki, issue, viewer, time_machine):
    _update_template_validity(pki.template, 1)
    short = IssuedCertificate.objects.get(request=issue(common_name="short"))
    _update_template_validity(pki.template, 365)
    valid = IssuedCertificate.objects.get(request=issue(common_name="valid"))
    revoked = IssuedCertificate.objects.get(request=issue(common_name="revoked"))
    with TestCase.captureOnCommitCallbacks(execute=True):
        certificate_revoke_by_admin(certificate=revoked, reason="superseded", requested_by="test", wait=0)
    assert _serials(viewer.get(URL, {"status": "issued"})) == {short.serial, valid.serial}
    assert _serials(viewer.get(URL, {"status": "revoked"})) == {revoked.serial}
    assert _serials(viewer.get(URL, {"status": "expired"})) == set()
    time_machine.move_to(short.not_after + dt.timedelta(seconds=1), tick=False)
    assert _serials(viewer.get(URL, {"status": "expired"})) == {short.serial}
    assert _serials(viewer.get(URL, {"status": "issued"})) == {valid.serial}
    assert _serials(viewer.get(URL, {"status": "revoked"})) == {revoked.serial}
    assert viewer.get(URL, {"status": "lost"}).status_code == 400


def _update_template_validity(template: CertificateTemplate, days: int) -> None:
    template.validity_days = days
    template.save()


def test_filter_by_template_and_authority(pki, issue, viewer, api_client_for):
    other = CertificateTemplate.objects.create(name="Other", display_name="Other")
    pki.issuing.published_templates.add(other)
    first = IssuedCertificate.objects.get(request=issue(common_name="first"))
    second = IssuedCertificate.objects.get(request=issue(common_name="second", template=other))
    assert _serials(viewer.get(URL, {"template": "TestClientAuth"})) == {first.serial}
    assert _serials(viewer.get(URL, {"template": "Other"})) == {second.serial}
    assert _serials(viewer.get(URL, {"authority": "test-issuing"})) == {first.serial, second.serial}
    assert _serials(viewer.get(URL, {"authority": "test-root"})) == set()
    assert _serials(viewer.get(URL, {"serial": first.serial.lower()})) == {first.serial}
    assert _serials(viewer.get(URL, {"subject": "SECOND"})) == {second.serial}
    assert viewer.get(URL, {"authority": "nope"}).status_code == 400


#: A revocation request is sent to the CA when it commits: these tests let the request commit, as a
#: real one does, so that the (eager) CA task runs within the call and the answer is 200.
committing = pytest.mark.django_db(transaction=True)


@committing
def test_revoke(issued, pki, api_client_for):
    response = api_client_for(VIEW, REVOKE).post(
        f"{URL}{issued.pk}/revoke/", {"reason": "key_compromise"}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["revocation_request"]["status"] == "done"
    data = response.json()["certificate"]
    assert data["status"] == "revoked"
    assert data["revocation_reason"] == "key_compromise"
    assert data["revoked_at"] is not None
    crl = x509.load_der_x509_crl(bytes(pki.issuing.crls.latest().der))
    entry = crl.get_revoked_certificate_by_serial_number(issued.serial_int)
    assert entry is not None
    assert (
        entry.extensions.get_extension_for_class(x509.CRLReason).value.reason
        == x509.ReasonFlags.key_compromise
    )


@committing
def test_revoke_without_a_reason_is_unspecified(issued, api_client_for):
    response = api_client_for(VIEW, REVOKE).post(f"{URL}{issued.pk}/revoke/", {}, format="json")
    assert response.status_code == 200
    assert response.json()["certificate"]["revocation_reason"] == "unspecified"


@committing
def test_revoking_twice_is_a_conflict(issued, pki, api_client_for):
    client = api_client_for(VIEW, REVOKE)
    assert (
        client.post(f"{URL}{issued.pk}/revoke/", {"reason": "superseded"}, format="json").status_code == 200
    )
    response = client.post(f"{URL}{issued.pk}/revoke/", {"reason": "key_compromise"}, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "already_revoked"
    issued.refresh_from_db()
    assert issued.revocation_reason == "superseded"
    assert pki.issuing.crls.count() == 2


def test_revoke_with_an_unknown_reason_is_a_field_error(issued, pki, api_client_for):
    response = api_client_for(VIEW, REVOKE).post(
        f"{URL}{issued.pk}/revoke/", {"reason": "lost"}, format="json"
    )
    assert response.status_code == 400
    assert list(response.json()) == ["reason"]
    issued.refresh_from_db()
    assert issued.revoked_at is None
    assert pki.issuing.crls.count() == 1


def test_revoke_needs_the_revoke_permission(issued, pki, api_client_for):
    client = api_client_for(VIEW, "ca.change_issuedcertificate")
    response = client.post(f"{URL}{issued.pk}/revoke/", {"reason": "superseded"}, format="json")
    assert response.status_code == 403
    issued.refresh_from_db()
    assert issued.revoked_at is None
    assert pki.issuing.crls.count() == 1
    event = ConnectorEvent.objects.get(event_id=EventId.REVOKE_CERT_FAILURE)
    assert (event.diagnostic_code, event.serial, event.ca_name) == (
        DiagnosticCode.REVOKE_CERT_ACCESS_DENIED,
        issued.serial,
        pki.issuing.name,
    )
    assert event.diagnostic_code == 0x00000402


@committing
def test_a_revocation_the_ca_cannot_sign_stays_queued_with_0x400(issued, pki, api_client_for, settings):
    """Without the CA key passphrase the CRL cannot be signed: nothing is revoked, the request stays queued
    for the sweep, and the event log says why (0x00000400)."""
    settings.CERTPORTAL_CA_KEY_PASSPHRASE = ""
    response = api_client_for(VIEW, REVOKE).post(f"{URL}{issued.pk}/revoke/", {"reason": "superseded"})
    assert response.status_code == 202
    issued.refresh_from_db()
    assert issued.revoked_at is None
    request = RevocationRequest.objects.get()
    assert request.status == "queued"
    assert "passphrase" in request.failure_reason
    event = ConnectorEvent.objects.get(event_id=EventId.REVOKE_CERT_FAILURE)
    assert (event.diagnostic_code, event.serial) == (DiagnosticCode.PKCS_ISSUE_CA_UNAVAILABLE, issued.serial)


def test_revoke_of_an_unknown_certificate_is_404(issued, api_client_for):
    assert api_client_for(VIEW, REVOKE).post(f"{URL}999999/revoke/", {}, format="json").status_code == 404


def test_certificates_are_read_only(issued, api_client_for):
    client = api_client_for(
        VIEW, "ca.add_issuedcertificate", "ca.change_issuedcertificate", "ca.delete_issuedcertificate"
    )
    assert client.post(URL, {}, format="json").status_code == 405
    assert client.patch(f"{URL}{issued.pk}/", {"subject": "x"}, format="json").status_code == 405
    assert client.delete(f"{URL}{issued.pk}/").status_code == 405
    assert IssuedCertificate.objects.count() == 1


def test_list_query_count_does_not_grow_with_the_rows(pki, issue, viewer):
    viewer.get(URL)  # the token's first use writes its last_used_at
    issue(common_name="one")
    with CaptureQueriesContext(connection) as one:
        assert viewer.get(URL).json()["count"] == 1
    for n in range(5):
        issue(common_name=f"more-{n}")
    with CaptureQueriesContext(connection) as six:
        assert viewer.get(URL).json()["count"] == 6
    assert len(six) == len(one)


def test_a_revocation_survives_a_broker_outage_and_completes_when_it_is_back(
    issued, api_client_for, monkeypatch, django_capture_on_commit_callbacks
):
    """The broker refusing the task (kombu's OperationalError, as when Redis is down): the revocation request
    is durable, the answer is 202 with it, and the stale-request sweep completes it once the broker is back.
    """

    def broker_down(*args: object, **kwargs: object) -> None:
        raise KombuOperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(revocation_requests, "ca_task_send", broker_down)
    client = api_client_for(VIEW, REVOKE)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"{URL}{issued.pk}/revoke/", {"reason": "superseded"}, format="json")
    assert response.status_code == 202, response.json()
    body = response.json()
    assert body["certificate"]["status"] == "issued"
    assert body["revocation_request"]["status"] == "queued"
    assert body["revocation_request"]["items"] == [
        {
            "certificate": issued.pk,
            "serial": issued.serial,
            "authority": issued.authority.slug,
            "outcome": "pending",
        }
    ]
    issued.refresh_from_db()
    assert issued.revoked_at is None

    monkeypatch.undo()  # the broker is back
    with django_capture_on_commit_callbacks(execute=True):
        assert revocation_requests.revocation_request_redispatch_stale(older_than=dt.timedelta(0)) == 1
    issued.refresh_from_db()
    assert issued.revocation_reason == "superseded"
    request = RevocationRequest.objects.get()
    assert (request.status, request.requested_by) == (
        "done",
        f"api:{response.wsgi_request.user.get_username()}",
    )
    crl = x509.load_der_x509_crl(bytes(issued.authority.crls.latest().der))
    assert crl.get_revoked_certificate_by_serial_number(issued.serial_int) is not None


def test_asking_twice_revokes_once(issued, api_client_for, monkeypatch, django_capture_on_commit_callbacks):
    """A second revocation while the first is still queued joins it; once revoked, it is a 409."""
    monkeypatch.setattr(revocation_requests, "ca_task_send", lambda *args, **kwargs: None)  # the CA is slow
    client = api_client_for(VIEW, REVOKE)
    with django_capture_on_commit_callbacks(execute=True):
        first = client.post(f"{URL}{issued.pk}/revoke/", {"reason": "superseded"}, format="json")
        second = client.post(f"{URL}{issued.pk}/revoke/", {"reason": "key_compromise"}, format="json")
    assert (first.status_code, second.status_code) == (202, 202)
    assert first.json()["revocation_request"]["id"] == second.json()["revocation_request"]["id"]
    assert RevocationRequest.objects.count() == 1

    monkeypatch.undo()
    with django_capture_on_commit_callbacks(execute=True):
        revocation_requests.revocation_request_redispatch_stale(older_than=dt.timedelta(0))
    issued.refresh_from_db()
    assert issued.revocation_reason == "superseded"
    assert (
        client.post(f"{URL}{issued.pk}/revoke/", {"reason": "superseded"}, format="json").status_code == 409
    )
    assert issued.authority.crls.count() == 2  # the fixture's first CRL and one for this revocation


@committing
def test_revocation_requests_show_their_progress(issued, api_client_for):
    client = api_client_for(VIEW, REVOKE, "ca.view_revocationrequest")
    revoked = client.post(f"{URL}{issued.pk}/revoke/", {"reason": "key_compromise", "comment": "lost laptop"})
    assert revoked.status_code == 200, revoked.json()
    request_id = revoked.json()["revocation_request"]["id"]
    detail = client.get(f"/api/v1/revocation-requests/{request_id}/").json()
    assert (detail["status"], detail["cause"], detail["reason"], detail["comment"]) == (
        "done",
        "admin",
        "key_compromise",
        "lost laptop",
    )
    assert [item["outcome"] for item in detail["items"]] == ["revoked"]
    assert detail["completed_at"] is not None
