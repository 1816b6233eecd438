"""What unauthenticated clients can make the SCEP endpoint store is bounded: per refused request, in time
(the retention job), and in requests waiting for approval (the caps).
"""

from __future__ import annotations

import datetime as dt

import pytest

from cryptography import x509
from cryptography.x509.oid import NameOID

from django.db import connection, models
from django.utils import timezone

from ca.models import CertificateRequest, IssuedCertificate
from ca.services.submission import certificate_request_deny
from enrollment import scep
from enrollment.choices import TransactionStatus
from enrollment.jobs import scep_transaction_prune_task
from enrollment.models import ScepTransaction
from enrollment.services.pki_operation.transaction import REFUSED_SUBJECT_MAX
from enrollment.services.retention import scep_transaction_prune
from enrollment.tests.fixtures import Device, assert_refused
from eventlog.choices import EventId
from eventlog.models import ConnectorEvent

#: The most a refused request may leave in the transaction table, and in the event log (two events).
TRANSACTION_BYTES_BOUND = 1_200
EVENT_BYTES_BOUND = 2 * 1_600


def stored_bytes(row: models.Model) -> int:
    """What the row's columns hold, as text (a database adds its own few bytes of overhead per row)."""
    total = 0
    for field in row._meta.concrete_fields:
        value = getattr(row, field.attname)
        if value is not None:
            total += len(value) if isinstance(value, bytes | memoryview) else len(str(value).encode("utf-8"))
    return total


def hostile_subject() -> x509.Name:
    """A subject of 40 OUs of 60 characters (about 2,700 characters in RFC 4514)."""
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, f"{index:02d}" + "x" * 58)
            for index in range(40)
        ]
        + [x509.NameAttribute(NameOID.COMMON_NAME, "flood")]
    )


def test_a_thousand_refused_requests_leave_a_bounded_record_that_the_retention_job_deletes(
    db, scep_client, device_keys, time_machine, settings
):
    settings.CERTPORTAL_SCEP_ISSUE_WAIT = 0
    time_machine.move_to(dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC), tick=False)
    device = Device.create(device_keys[0])
    csr = device.csr(challenge="w" * 255, subject=hostile_subject())  # the longest challengePassword
    assert len(csr.subject.rfc4514_string()) > 2_500
    count = 1_000
    for index in range(count):
        sent = scep_client.pkcs_req(device, csr, transaction_id=f"{index:04d}-" + "t" * 123)  # 128 characters
        response = scep_client.send(sent)
        if index % 250 == 0:  # every answer is the same refusal; check a few of them in full
            assert_refused(scep_client.reply(sent, response), scep.FailInfo.BAD_REQUEST, requests=0)

    refused = list(ScepTransaction.objects.all())
    assert len(refused) == count
    assert {row.status for row in refused} == {TransactionStatus.FAILURE}
    assert {len(row.subject) for row in refused} == {REFUSED_SUBJECT_MAX}
    sizes = [stored_bytes(row) for row in refused]
    assert max(sizes) < TRANSACTION_BYTES_BOUND, max(sizes)
    events = list(ConnectorEvent.objects.all())
    assert len(events) == 2 * count  # 20501 (challenge rejected) and 4005 (refused) for each
    assert sum(stored_bytes(event) for event in events) < count * EVENT_BYTES_BOUND
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT max(pg_column_size(t.*)) FROM enrollment_sceptransaction t")
            (largest,) = cursor.fetchone()
        assert largest < TRANSACTION_BYTES_BOUND, largest
    assert CertificateRequest.objects.count() == 0

    # The retention job: nothing is old enough yet, then everything is.
    assert scep_transaction_prune_task.apply().get() == 0
    time_machine.move_to(timezone.now() + dt.timedelta(days=31), tick=False)
    recent = scep_client.pkcs_req(device, csr, transaction_id="recent")
    scep_client.send(recent)

    assert scep_transaction_prune_task.apply().get() == count

    assert list(ScepTransaction.objects.values_list("transaction_id", flat=True)) == ["recent"]


def test_the_retention_follows_its_setting_and_keeps_what_a_retransmission_needs(
    db, enrol_now, scep_client, device_keys, time_machine, settings
):
    """Successful transactions stay (a retransmitted PKCSReq must get its certificate again)."""
    settings.CERTPORTAL_SCEP_REFUSED_RETENTION_DAYS = 7
    issued = enrol_now(Device.create(device_keys[0]))
    refused = Device.create(device_keys[1], "refused")
    scep_client.send(scep_client.pkcs_req(refused, refused.csr(challenge="wrong-challenge")))
    time_machine.move_to(timezone.now() + dt.timedelta(days=6), tick=False)
    assert scep_transaction_prune_task.apply().get() == 0

    time_machine.move_to(timezone.now() + dt.timedelta(days=2), tick=False)

    assert scep_transaction_prune_task.apply().get() == 1
    assert list(ScepTransaction.objects.values_list("status", flat=True)) == [TransactionStatus.SUCCESS]
    assert IssuedCertificate.objects.get() == issued


def test_the_prune_works_in_batches(db, scep_client, device_keys, monkeypatch):
    monkeypatch.setattr("enrollment.services.retention.PRUNE_BATCH", 3)
    device = Device.create(device_keys[0])
    csr = device.csr(challenge="wrong-challenge")
    for index in range(7):
        scep_client.send(scep_client.pkcs_req(device, csr, transaction_id=f"batch-{index}"))

    assert (
        scep_transaction_prune(older_than=dt.timedelta(0), now=timezone.now() + dt.timedelta(seconds=1)) == 7
    )
    assert not ScepTransaction.objects.exists()


def test_the_job_is_a_default_queue_task():
    route = scep_transaction_prune_task.app.amqp.router.route(
        {}, scep_transaction_prune_task.name, args=(), kwargs={}
    )
    assert route["queue"].name == "default"


# --- requests waiting for approval --------------------------------------------------------------------------


@pytest.fixture
def approval_required(pki, settings):
    settings.CERTPORTAL_SCEP_ISSUE_WAIT = 0
    settings.CERTPORTAL_SCEP_PENDING_MAX_PER_ADDRESS = 0
    settings.CERTPORTAL_SCEP_PENDING_MAX_PER_SUBJECT = 0
    settings.CERTPORTAL_SCEP_PENDING_MAX_PER_SERVICE = 0
    pki.template.requires_approval = True
    pki.template.save()


def pending(scep_client, device: Device) -> None:
    result = scep_client.enroll(device)
    assert result.status is scep.PkiStatus.PENDING, result.fail_info_text


def assert_over_the_cap(scep_client, device: Device, text: str, reason: str) -> None:
    waiting = CertificateRequest.objects.count()
    sent = scep_client.pkcs_req(device)
    result = scep_client.exchange(sent)

    assert_refused(result, scep.FailInfo.BAD_REQUEST, requests=waiting)
    assert result.fail_info_text == (
        f"too many requests are waiting for approval {text}; try again once a CA certificate manager has "
        "approved or denied them"
    )
    event = ConnectorEvent.objects.get(
        event_id=EventId.SCEP_VERIFY_FAILURE, transaction_id=sent.transaction_id
    )
    assert (event.details["reason"], event.client_address) == (reason, "127.0.0.1")
    # Not stored: nothing to grow, and the same request sent later is considered afresh.
    assert not ScepTransaction.objects.filter(transaction_id=sent.transaction_id).exists()


def test_the_pending_cap_per_address_refuses_the_next_request(
    db, approval_required, scep_client, device_keys, settings
):
    settings.CERTPORTAL_SCEP_PENDING_MAX_PER_ADDRESS = 2
    first, second, third = (Device.create(key, f"device-{i}") for i, key in enumerate(device_keys[:3]))
    pending(scep_client, first)
    pending(scep_client, second)
    pending(scep_client, second)  # its retransmission is the same request, not one more

    assert_over_the_cap(scep_client, third, "from 127.0.0.1 (the limit is 2)", "pending_cap_address")

    request = ScepTransaction.objects.get(subject="CN=device-0,O=certportal tests").certificate_request
    assert request is not None
    certificate_request_deny(request=request, actor="alice", reason="not ours")
    scep_client.enroll(first)  # the poll learns the denial: one fewer is waiting
    pending(scep_client, third)  # the same request as the refused one, considered afresh


def test_the_pending_cap_per_subject(db, approval_required, scep_client, device_keys, settings):
    settings.CERTPORTAL_SCEP_PENDING_MAX_PER_SUBJECT = 1
    pending(scep_client, Device.create(device_keys[0], "kiosk"))
    pending(scep_client, Device.create(device_keys[1], "other"))

    assert_over_the_cap(
        scep_client,
        Device.create(device_keys[2], "kiosk"),
        "for 'CN=kiosk,O=certportal tests' (the limit is 1)",
        "pending_cap_subject",
    )


def test_the_pending_cap_per_service(db, approval_required, scep_client, device_keys, settings):
    settings.CERTPORTAL_SCEP_PENDING_MAX_PER_SERVICE = 1
    pending(scep_client, Device.create(device_keys[0], "one"))

    assert_over_the_cap(
        scep_client,
        Device.create(device_keys[1], "two"),
        "at SCEP service strict (the limit is 1)",
        "pending_cap_service",
    )


def test_requests_that_need_no_approval_are_not_capped(db, scep_client, device_keys, settings):
    """A request waiting only for the CA worker is the worker's outage, not a flood: no cap applies."""
    settings.CERTPORTAL_SCEP_ISSUE_WAIT = 0
    settings.CERTPORTAL_SCEP_PENDING_MAX_PER_ADDRESS = 1
    for index, key in enumerate(device_keys[:3]):  # no commit in a db test: the CA never runs
        pending(scep_client, Device.create(key, f"queued-{index}"))
    assert ScepTransaction.objects.filter(status=TransactionStatus.PENDING).count() == 3
