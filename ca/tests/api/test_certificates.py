"""/api/v1/certificates/: list with filters, detail, and the revoke action with its permission."""

from __future__ import annotations

import datetime as dt

import pytest
from kombu.exceptions import OperationalError as KombuOperationalError

from cryptography import x509

from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from ca.models import CertificateTemplate, IssuedCertificate
from ca.services.submission import certificate_revoke_submit
from ca.tasks import certificate_revoke_task

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
    certificate_revoke_submit(certificate=revoked, reason="superseded", timeout=0)
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


def test_revoke(issued, pki, api_client_for):
    response = api_client_for(VIEW, REVOKE).post(
        f"{URL}{issued.pk}/revoke/", {"reason": "key_compromise"}, format="json"
    )
    assert response.status_code == 200, response.content
    data = response.json()
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


def test_revoke_without_a_reason_is_unspecified(issued, api_client_for):
    response = api_client_for(VIEW, REVOKE).post(f"{URL}{issued.pk}/revoke/", {}, format="json")
    assert response.status_code == 200
    assert response.json()["revocation_reason"] == "unspecified"


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
    issue(common_name="one")
    with CaptureQueriesContext(connection) as one:
        assert viewer.get(URL).json()["count"] == 1
    for n in range(5):
        issue(common_name=f"more-{n}")
    with CaptureQueriesContext(connection) as six:
        assert viewer.get(URL).json()["count"] == 6
    assert len(six) == len(one)


def test_revoke_answers_503_and_changes_nothing_when_the_ca_queue_is_unreachable(
    issued, api_client_for, monkeypatch
):
    """The broker refusing the task (kombu's OperationalError, as when Redis is down) is a 503, not a 500."""

    def broker_down(*args: object, **kwargs: object) -> None:
        raise KombuOperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(certificate_revoke_task, "apply_async", broker_down)
    client = api_client_for(VIEW, REVOKE)
    response = client.post(f"{URL}{issued.pk}/revoke/", {"reason": "superseded"}, format="json")
    assert response.status_code == 503
    assert response.json()["code"] == "ca_queue_unavailable"
    issued.refresh_from_db()
    assert issued.revoked_at is None
