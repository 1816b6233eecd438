"""Tasks on the ca queue: routing, typed messages, and each task as a thin call of its service."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from cryptography import x509

from celery import current_app as celery_app

from ca.choices import CertificateRequestStatus
from ca.jobs import certificate_request_sweep_task
from ca.messages import CaTaskMessage
from ca.models import IssuedCertificate
from ca.services.revocation_requests import revocation_request_create
from ca.services.submission import certificate_request_submit
from ca.tasks import (
    certificate_issue_task,
    crl_generate_task,
    crl_refresh_task,
    revocation_request_execute_task,
)
from ca.tests.pki import make_csr


def _queue(name: str) -> str:
    return str(celery_app.amqp.router.route({}, name, args=(), kwargs={})["queue"].name)


def test_every_ca_task_is_routed_to_the_ca_queue():
    for task in (
        certificate_issue_task,
        revocation_request_execute_task,
        crl_generate_task,
        crl_refresh_task,
    ):
        assert _queue(task.name) == "ca", task.name


def test_every_message_names_a_ca_task():
    for message in CaTaskMessage.__subclasses__():
        assert message.task_name in celery_app.tasks, message.__name__
        assert _queue(message.task_name) == "ca", message.__name__


def test_the_stale_request_sweep_only_redispatches_so_it_runs_on_the_default_queue():
    assert _queue(certificate_request_sweep_task.name) == "default"


@pytest.mark.parametrize(
    "payload",
    [{}, {"request_id": "x"}, {"request_id": 0}, {"request_id": 1, "extra": True}, {"request_id": None}],
)
def test_a_malformed_message_is_refused_before_anything_happens(payload):
    with pytest.raises(ValidationError):
        certificate_issue_task.delay(payload).get()


def test_ca_tasks_acknowledge_late():
    for task in (
        certificate_issue_task,
        revocation_request_execute_task,
        crl_generate_task,
        crl_refresh_task,
    ):
        assert task.acks_late is True, task.name


def _queued(pki, rsa2048_key, common_name: str = "task"):
    return certificate_request_submit(
        authority=pki.issuing,
        template=pki.template,
        csr=make_csr(rsa2048_key)[0],
        subject=x509.Name.from_rfc4514_string(f"CN={common_name}"),
        requester="test",
    )  # the on-commit dispatch is dropped with the test transaction: the test runs the task


def test_issue_task_returns_the_certificate_id(pki, rsa2048_key):
    request = _queued(pki, rsa2048_key)
    certificate_id = certificate_issue_task.delay({"request_id": request.pk}).get()
    assert isinstance(certificate_id, int)
    assert IssuedCertificate.objects.get(pk=certificate_id).request_id == request.pk


def test_issue_task_returns_none_for_a_failed_request(pki, rsa2048_key):
    request = _queued(pki, rsa2048_key)
    pki.issuing.enabled = False
    pki.issuing.save()
    assert certificate_issue_task.delay({"request_id": request.pk}).get() is None
    request.refresh_from_db()
    assert request.status == CertificateRequestStatus.FAILED
    assert IssuedCertificate.objects.count() == 0


def test_revocation_task_carries_out_a_request_once(issued):
    request = revocation_request_create(
        certificates=[issued], reason="superseded", cause="admin", requested_by="test"
    )  # the on-commit dispatch is dropped with the test transaction: the test runs the task
    assert request is not None
    assert revocation_request_execute_task.delay({"request_id": request.pk}).get() == "done"
    issued.refresh_from_db()
    assert issued.revocation_reason == "superseded"
    numbers = list(issued.authority.crls.values_list("number", flat=True))
    assert revocation_request_execute_task.delay({"request_id": request.pk}).get() == "done"
    assert list(issued.authority.crls.values_list("number", flat=True)) == numbers  # nothing done twice
