"""The CA queue in the connector's event log: the RA's hand-over (upload, 20300/20302), the CA worker's
handling (download, 20400/20402), and a request the CA cannot sign (20102, 0x00000400)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from kombu.exceptions import OperationalError as KombuOperationalError

from cryptography import x509

from celery import current_app as celery_app

from ca import tasks
from ca.choices import CertificateRequestStatus
from ca.dispatch import ca_task_send
from ca.key_backends import KeyBackendUnavailable
from ca.messages import CertificateIssueMessage, CrlGenerateMessage, RevocationRequestExecuteMessage
from ca.models import IssuedCertificate
from ca.services.revocation_requests import revocation_request_create
from ca.services.submission import certificate_request_submit
from ca.tasks import certificate_issue_task, revocation_request_execute_task
from ca.tests.pki import make_csr
from eventlog.choices import DiagnosticCode, EventId, EventLevel
from eventlog.models import ConnectorEvent


def _queued(pki, key, common_name: str = "events"):
    return certificate_request_submit(
        authority=pki.issuing,
        template=pki.template,
        csr=make_csr(key)[0],
        subject=x509.Name.from_rfc4514_string(f"CN={common_name}"),
        requester="test",
    )  # the on-commit dispatch is dropped with the test transaction: the test sends it


def _events() -> list[ConnectorEvent]:
    return list(ConnectorEvent.objects.order_by("id"))


def test_handing_a_request_to_the_queue_and_issuing_it_is_an_upload_then_a_download(pki, rsa2048_key):
    request = _queued(pki, rsa2048_key)

    ca_task_send(CertificateIssueMessage(request_id=request.pk))

    issued = IssuedCertificate.objects.get(request=request)
    upload, download = _events()
    assert (upload.event_id, upload.level, upload.diagnostic_code) == (20300, EventLevel.INFORMATION, 0)
    assert upload.message == f"handed to the CA queue: certificate_issue_task(request_id={request.pk})"
    assert upload.details == {
        "task": CertificateIssueMessage.task_name,
        "task_id": "",
        "request_id": request.pk,
    }
    assert (download.event_id, download.diagnostic_code) == (EventId.DOWNLOAD_SUCCESS, DiagnosticCode.SUCCESS)
    assert (
        download.message
        == f"certificate_issue_task(request_id={request.pk}): issued certificate {issued.serial}"
    )
    assert (download.authority_slug, download.ca_name, download.template_name) == (
        pki.issuing.slug,
        pki.issuing.name,
        pki.template.name,
    )
    assert (download.serial, download.thumbprint) == (issued.serial, issued.fingerprint_sha1)


def test_a_crl_is_not_a_request_and_is_not_recorded(pki):
    ca_task_send(CrlGenerateMessage(authority_id=pki.issuing.pk))
    assert not ConnectorEvent.objects.exists()


def test_a_broker_that_refuses_the_message_is_an_upload_failure(pki, rsa2048_key, monkeypatch):
    request = _queued(pki, rsa2048_key)

    def broker_down(*args, **kwargs):
        raise KombuOperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setitem(celery_app.conf, "task_always_eager", False)
    monkeypatch.setattr(celery_app, "send_task", broker_down)
    with pytest.raises(KombuOperationalError):
        ca_task_send(CertificateIssueMessage(request_id=request.pk), task_id="task-1")

    (failure,) = _events()
    assert (failure.event_id, failure.level, failure.diagnostic_code) == (
        EventId.UPLOAD_FAILURE,
        EventLevel.ERROR,
        DiagnosticCode.UNKNOWN_ERROR,
    )
    assert "Connection refused" in failure.message
    assert failure.details["error"] == "OperationalError"
    assert failure.details["task_id"] == "task-1"


def test_a_message_on_the_broker_is_an_upload_with_its_task_id(pki, rsa2048_key, monkeypatch):
    request = _queued(pki, rsa2048_key)
    monkeypatch.setitem(celery_app.conf, "task_always_eager", False)
    monkeypatch.setattr(celery_app, "send_task", lambda *args, **kwargs: SimpleNamespace(id="task-2"))

    ca_task_send(CertificateIssueMessage(request_id=request.pk))

    (upload,) = _events()
    assert (upload.event_id, upload.details["task_id"]) == (EventId.UPLOAD_SUCCESS, "task-2")
    assert request.status == CertificateRequestStatus.QUEUED  # nothing ran here: a worker would


def test_a_disabled_ca_at_signing_time_is_20102_with_0x400(pki, rsa2048_key):
    request = _queued(pki, rsa2048_key)
    pki.issuing.enabled = False
    pki.issuing.save()

    assert certificate_issue_task.delay({"request_id": request.pk}).get() is None

    refused, download = _events()
    assert (refused.event_id, refused.level, refused.diagnostic_code) == (
        EventId.PKCS_CERT_ISSUE_FAILURE,
        EventLevel.ERROR,
        DiagnosticCode.PKCS_ISSUE_CA_UNAVAILABLE,
    )
    assert refused.diagnostic == "0x00000400 PKCS_Issue_CA_Unavailable"
    assert refused.message == f"certificate request {request.pk} not signed: CA {pki.issuing} is disabled"
    assert (refused.authority_slug, refused.template_name) == (pki.issuing.slug, pki.template.name)
    assert refused.details == {"request_id": request.pk, "requester": "test"}
    assert (download.event_id, download.message) == (
        EventId.DOWNLOAD_SUCCESS,
        f"certificate_issue_task(request_id={request.pk}): the request failed at signing time",
    )
    assert IssuedCertificate.objects.count() == 0


def test_an_expired_ca_at_signing_time_is_20102_with_0x400(pki, rsa2048_key, time_machine):
    request = _queued(pki, rsa2048_key)
    time_machine.move_to(pki.issuing.not_after, tick=False)

    assert certificate_issue_task.delay({"request_id": request.pk}).get() is None

    assert ConnectorEvent.objects.get(event_id=EventId.PKCS_CERT_ISSUE_FAILURE).diagnostic_code == 0x400


def test_a_ca_key_that_cannot_be_loaded_is_a_download_failure_with_0x400(pki, rsa2048_key, settings):
    request = _queued(pki, rsa2048_key)
    settings.CERTPORTAL_CA_KEY_PASSPHRASE = ""

    with pytest.raises(KeyBackendUnavailable):
        certificate_issue_task.delay({"request_id": request.pk}).get()

    (failure,) = _events()
    assert (failure.event_id, failure.level, failure.diagnostic_code) == (
        EventId.DOWNLOAD_FAILURE,
        EventLevel.ERROR,
        DiagnosticCode.PKCS_ISSUE_CA_UNAVAILABLE,
    )
    assert "no CA key passphrase" in failure.message
    assert failure.details == {
        "task": CertificateIssueMessage.task_name,
        "request_id": request.pk,
        "error": "KeyBackendUnavailable",
    }
    request.refresh_from_db()
    assert request.status == CertificateRequestStatus.QUEUED  # the sweep sends it again


def test_an_unexpected_error_in_a_task_is_a_download_failure_with_0x0fffffff(pki, rsa2048_key, monkeypatch):
    request = _queued(pki, rsa2048_key)

    def broken(**kwargs):
        raise RuntimeError("the signing hardware caught fire")

    monkeypatch.setattr(tasks, "certificate_issue", broken)
    with pytest.raises(RuntimeError):
        certificate_issue_task.delay({"request_id": request.pk}).get()

    (failure,) = _events()
    assert (failure.event_id, failure.diagnostic, failure.details["error"]) == (
        EventId.DOWNLOAD_FAILURE,
        "0x0FFFFFFF Unknown_Error",
        "RuntimeError",
    )


def test_a_malformed_message_is_refused_before_anything_is_recorded(db):
    with pytest.raises(ValueError, match="request_id"):
        certificate_issue_task.delay({"request_id": "x"}).get()
    assert not ConnectorEvent.objects.exists()


def test_a_revocation_request_taken_off_the_queue_is_a_download(issued):
    request = revocation_request_create(
        certificates=[issued], reason="superseded", cause="admin", requested_by="test"
    )
    assert request is not None

    assert revocation_request_execute_task.delay({"request_id": request.pk}).get() == "done"

    download = ConnectorEvent.objects.get(
        event_id=EventId.DOWNLOAD_SUCCESS, details__task=RevocationRequestExecuteMessage.task_name
    )
    assert download.message == (
        f"revocation_request_execute_task(request_id={request.pk}): revocation request {request.pk} is done"
    )
