"""The move of the event log to its own app: enrollment 0004 turns EnrollmentEvent rows into ConnectorEvent
rows (same ids, order and times, the service and the transaction as soft links) and moves them back."""

from __future__ import annotations

import datetime as dt

import pytest

from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from eventlog.choices import EventId
from eventlog.models import ConnectorEvent
from eventlog.services import event_record

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("enrollment", "0003_alter_enrollmentevent_event_id")]
T0 = dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.UTC)


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def _latest():
    return MigrationExecutor(connection).loader.graph.leaf_nodes()


@pytest.fixture
def before(scep_service):
    """The database as it was before the move, put back to the latest state afterwards."""
    try:
        yield _migrate(BEFORE)
    finally:
        _migrate(_latest())


def _old_rows(apps, scep_service):
    event = apps.get_model("enrollment", "EnrollmentEvent")
    transaction = apps.get_model("enrollment", "ScepTransaction").objects.create(
        service_id=scep_service.pk,
        transaction_id="tid-1",
        message_type=19,
        signer_public_key_sha256="a" * 64,
        csr_sha256="b" * 64,
        request_key="c" * 64,
        status="success",
    )
    rows = [
        event.objects.create(
            event_id=4004,
            level="information",
            message="request verified",
            service_id=scep_service.pk,
            scep_transaction_id=transaction.pk,
            transaction_id="tid-1",
            message_type=19,
            client_address="192.0.2.1",
        ),
        event.objects.create(
            event_id=4006,
            level="information",
            message="issued certificate 0A1B",
            service_id=scep_service.pk,
            scep_transaction_id=transaction.pk,
            transaction_id="tid-1",
            details={"serial": "0A1B", "thumbprint": "AB" * 20},
        ),
        event.objects.create(
            event_id=4005,
            level="warning",
            message="challenge expired",
            diagnostic_code=0x411,
            fail_info=2,
            details={"failInfo": "BAD_REQUEST", "reason": "ChallengeExpired"},
        ),
        event.objects.create(event_id=4020, level="warning", message="empty PKIOperation body"),
    ]
    for minutes, row in enumerate(rows):  # auto_now_add: the times are set afterwards
        event.objects.filter(pk=row.pk).update(created_at=T0 + dt.timedelta(minutes=minutes))
    return [row.pk for row in rows], transaction.pk


def test_the_rows_move_with_their_ids_order_times_and_links(before, scep_service):
    ids, transaction_id = _old_rows(before, scep_service)

    _migrate(_latest())

    moved = list(ConnectorEvent.objects.all())  # newest first
    assert [event.pk for event in moved] == ids[::-1]
    assert [event.created_at for event in moved] == [T0 + dt.timedelta(minutes=m) for m in (3, 2, 1, 0)]
    assert [event.event_id for event in moved] == [4020, 4005, 4006, 4004]
    empty, expired, issued, verified = moved
    assert (verified.service_slug, verified.scep_transaction_id, verified.transaction_id) == (
        "strict",
        transaction_id,
        "tid-1",
    )
    assert (verified.message_type, verified.client_address, verified.message) == (
        19,
        "192.0.2.1",
        "request verified",
    )
    assert (issued.serial, issued.thumbprint) == ("0A1B", "AB" * 20)
    assert (expired.diagnostic, expired.fail_info, expired.details["reason"]) == (
        "0x00000411 CRPSCEPChallenge_Expired",
        2,
        "ChallengeExpired",
    )
    assert (empty.service_slug, empty.scep_transaction_id, empty.serial) == ("", None, "")
    new = event_record(event_id=EventId.SCEP_PENDING, message="after the move")
    assert new is not None
    assert new.pk > max(ids)  # the id sequence goes on after the moved rows


def test_the_rows_move_back(before, scep_service):
    ids, transaction_id = _old_rows(before, scep_service)
    _migrate(_latest())

    old_apps = _migrate(BEFORE)

    event = old_apps.get_model("enrollment", "EnrollmentEvent")
    back = list(
        event.objects.order_by("id").values_list("id", "event_id", "service_id", "scep_transaction_id")
    )
    assert back == [
        (ids[0], 4004, scep_service.pk, transaction_id),
        (ids[1], 4006, scep_service.pk, transaction_id),
        (ids[2], 4005, None, None),
        (ids[3], 4020, None, None),
    ]
    assert list(event.objects.order_by("id").values_list("created_at", flat=True)) == [
        T0 + dt.timedelta(minutes=m) for m in range(4)
    ]
    assert not ConnectorEvent.objects.exists()
