"""The hash chains: sealing, and ``manage.py audit_verify`` passing on an intact chain and naming the row that
was changed, removed or inserted out of order, in the audit log and in the event log; pruning the event log
from its old end keeps the chain verifiable.
"""

from __future__ import annotations

import datetime as dt
import io

import pytest

from django.core.management import call_command
from django.core.management.base import CommandError, SystemCheckError
from django.utils import timezone

from audit.chain import CURRENT_VERSION, FIELDS
from audit.choices import Action, ActorKind, Chain
from audit.jobs import audit_seal_task
from audit.models import AuditEntry, ChainLink
from audit.selectors import chain_anchor_get
from audit.services import sealing as sealing_service
from audit.services.sealing import chain_seal
from audit.services.verification import chain_verify
from directory.tests.factories import DirectoryUserFactory
from eventlog.choices import EventId
from eventlog.jobs import event_prune_task
from eventlog.models import ConnectorEvent
from eventlog.services import event_prune, event_record

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)


def _events(n: int, message: str = "check-in") -> list[ConnectorEvent]:
    events = [
        event_record(event_id=EventId.DEVICE_CHECK_IN, message=f"{message} {i}", device_id=i)
        for i in range(n)
    ]
    assert all(event is not None for event in events)
    return [event for event in events if event is not None]


def _audit_rows(n: int) -> list[AuditEntry]:
    people = DirectoryUserFactory.create_batch(n)
    return [
        AuditEntry.objects.get(object_type="directory.directoryuser", object_pk=str(p.pk)) for p in people
    ]


def _verify(*args: str) -> str:
    out = io.StringIO()
    call_command("audit_verify", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def _verify_fails(*args: str) -> CommandError:
    with pytest.raises(CommandError) as failure:
        _verify(*args)
    assert failure.value.returncode == 1  # manage.py exits with it
    return failure.value


def test_an_intact_chain_verifies(sealing):
    entries = _audit_rows(3)
    events = _events(3)
    sealed = sealing()
    assert sealed["audit"] >= 3
    assert sealed["events"] == 3

    output = _verify()

    assert "audit: intact" in output
    assert "events: intact" in output
    assert f"head #{events[-1].pk}" in output
    assert ChainLink.objects.filter(chain=Chain.AUDIT, row_id__in=[e.pk for e in entries]).count() == 3


def test_a_changed_audit_row_is_named(sealing, tamper):
    entries = _audit_rows(3)
    sealing()
    tamper("UPDATE audit_auditentry SET object_repr = 'someone else' WHERE id = %s", [entries[1].pk])

    failure = _verify_fails()

    assert f"the audit chain is broken: row #{entries[1].pk} does not match its seal" in str(failure)
    assert [(p.kind, p.row_id) for p in chain_verify(chain=Chain.AUDIT).problems] == [
        ("changed", entries[1].pk)
    ]


def test_a_changed_actor_is_detected(sealing, tamper):
    entries = _audit_rows(2)
    sealing()
    tamper("UPDATE audit_auditentry SET actor_name = 'alice' WHERE id = %s", [entries[0].pk])

    assert [(p.kind, p.row_id) for p in chain_verify(chain=Chain.AUDIT).problems] == [
        ("changed", entries[0].pk)
    ]


def test_a_changed_event_row_is_named(sealing):
    events = _events(4)
    sealing()
    ConnectorEvent.objects.filter(pk=events[2].pk).update(message="nothing to see")

    failure = _verify_fails("--chain", "events")

    assert f"the events chain is broken: row #{events[2].pk} does not match its seal" in str(failure)


def test_a_row_deleted_in_the_middle_is_named(sealing, tamper):
    events = _events(5)
    entries = _audit_rows(3)
    sealing()
    ConnectorEvent.objects.filter(pk=events[2].pk).delete()
    tamper("DELETE FROM audit_auditentry WHERE id = %s", [entries[1].pk])

    failure = _verify_fails()

    assert f"row #{entries[1].pk} was removed" in str(failure)
    assert "(and 1 more problem(s))" in str(failure)
    assert [(p.kind, p.row_id) for p in chain_verify(chain=Chain.EVENTS).problems] == [
        ("removed", events[2].pk)
    ]


def test_a_row_removed_with_its_link_breaks_the_next_link(sealing, tamper):
    events = _events(4)
    sealing()
    ConnectorEvent.objects.filter(pk=events[1].pk).delete()
    ChainLink.objects.events_drop_through(0)  # (the one deletion the app allows: nothing here)
    tamper("DELETE FROM audit_chainlink WHERE chain = 'events' AND row_id = %s", [events[1].pk])

    problems = chain_verify(chain=Chain.EVENTS).problems

    assert [(p.kind, p.row_id) for p in problems] == [("changed", events[2].pk)]
    assert f"between #{events[0].pk} and #{events[2].pk}" in problems[0].message


def test_a_row_inserted_out_of_order_is_named(sealing, tamper):
    _, gap, _ = _events(3)
    ConnectorEvent.objects.filter(
        pk=gap.pk
    ).delete()  # before sealing: a hole in the ids, as a rollback leaves
    sealing()
    tamper(
        "INSERT INTO eventlog_connectorevent (id, created_at, event_id, level, message, details, "
        "service_slug, transaction_id, device_external_id, user_principal_name, authority_slug, ca_name, "
        "template_name, serial, thumbprint) "
        "VALUES (%s, %s, 30001, 'information', 'forged', '{}', '', '', '', '', '', '', '', '', '')",
        [gap.pk, gap.created_at],
    )

    failure = _verify_fails()

    assert f"row #{gap.pk} is not in the chain: inserted out of order" in str(failure)


def test_rows_newer_than_the_last_seal_are_reported_not_verified(sealing):
    _events(2)
    sealing()
    newer = _events(2)

    output = _verify("--chain", "events")

    assert f"events: 2 row(s) from #{newer[0].pk} on are newer than the last seal" in output
    assert "events: intact" in output


def test_a_row_is_sealed_once_it_is_older_than_the_delay(settings):
    settings.CERTPORTAL_AUDIT_SEAL_DELAY = 60
    (event,) = _events(1)
    assert chain_seal(chain=Chain.EVENTS, now=event.created_at + dt.timedelta(seconds=59)) == {"events": 0}
    assert chain_seal(chain=Chain.EVENTS, now=event.created_at + dt.timedelta(seconds=61)) == {"events": 1}
    assert chain_seal(chain=Chain.EVENTS, now=event.created_at + dt.timedelta(seconds=120)) == {"events": 0}


def test_sealing_goes_in_batches_and_a_run_may_stop_at_a_limit(sealing, monkeypatch):
    monkeypatch.setattr(sealing_service, "SEAL_BATCH", 2)
    events = _events(5)
    later = timezone.now() + dt.timedelta(seconds=1)

    assert chain_seal(chain=Chain.EVENTS, now=later, limit=3) == {"events": 3}
    assert chain_seal(chain=Chain.EVENTS, now=later) == {"events": 2}
    assert list(ChainLink.objects.filter(chain=Chain.EVENTS).values_list("row_id", flat=True)) == [
        event.pk for event in events
    ]
    assert chain_verify(chain=Chain.EVENTS).intact


def test_invalid_settings_fail_the_system_check(settings):
    settings.CERTPORTAL_AUDIT_SEAL_DELAY = -1
    with pytest.raises(SystemCheckError, match="AUDIT_SEAL_DELAY"):
        call_command("check")


def test_the_beat_job_seals_both_chains_and_verify_can_seal_first(sealing):
    _events(2)
    _audit_rows(1)
    assert audit_seal_task()["events"] == 2
    _events(1)

    output = _verify("--seal")

    assert "events: sealed 1 row(s)" in output
    assert "events: intact" in output
    assert "newer than the last seal" not in output.split("events:", 1)[1]


def test_pruning_the_event_log_keeps_the_chain_verifiable(sealing, settings, time_machine):
    settings.CERTPORTAL_EVENT_RETENTION_DAYS = 30
    time_machine.move_to(NOW - dt.timedelta(days=40), tick=False)
    old = _events(5, "old")
    time_machine.move_to(NOW - dt.timedelta(days=10), tick=False)
    recent = _events(3, "recent")
    sealing()
    time_machine.move_to(NOW, tick=False)

    assert event_prune_task.apply().get() == 5  # as the worker runs it: the entry names the task

    assert list(ConnectorEvent.objects.order_by("pk")) == recent
    anchor = chain_anchor_get(chain=Chain.EVENTS)
    assert anchor is not None
    assert anchor.row_id == old[-1].pk
    entry = AuditEntry.objects.get(pk=anchor.entry_id)
    assert (entry.object_type, entry.action, entry.actor_kind, entry.actor_name) == (
        "eventlog.connectorevent",
        Action.DELETE,
        ActorKind.TASK,
        "task:eventlog.jobs.event_prune_task",
    )
    assert not ChainLink.objects.filter(chain=Chain.EVENTS, row_id__lte=anchor.row_id).exists()
    output = _verify()
    assert "events: intact" in output
    assert f"after the anchor #{old[-1].pk}" in output
    # what remains is still protected
    ConnectorEvent.objects.filter(pk=recent[1].pk).update(message="changed after the prune")
    assert [(p.kind, p.row_id) for p in chain_verify(chain=Chain.EVENTS).problems] == [
        ("changed", recent[1].pk)
    ]


def test_pruning_twice_and_sealing_after_a_prune_continue_the_chain(sealing, settings, time_machine):
    settings.CERTPORTAL_EVENT_RETENTION_DAYS = 30
    time_machine.move_to(NOW - dt.timedelta(days=80), tick=False)
    _events(2, "older")
    time_machine.move_to(NOW - dt.timedelta(days=50), tick=False)
    _events(2, "old")
    sealing()
    time_machine.move_to(NOW - dt.timedelta(days=35), tick=False)
    assert event_prune_task() == 2  # the 80-day-old ones (the cutoff: 65 days before NOW)
    time_machine.move_to(NOW - dt.timedelta(days=10), tick=False)
    recent = _events(2, "recent")
    time_machine.move_to(NOW, tick=False)
    assert event_prune_task() == 2  # seals the recent ones on the way, then prunes the 50-day-old ones

    assert list(ConnectorEvent.objects.order_by("pk")) == recent
    assert "events: intact" in _verify()


def test_pruning_never_deletes_unsealed_rows(settings, time_machine):
    settings.CERTPORTAL_AUDIT_SEAL_DELAY = 60  # nothing is old enough to be sealed yet
    time_machine.move_to(NOW, tick=False)
    _events(3)

    assert event_prune(older_than=dt.timedelta(0), now=NOW + dt.timedelta(seconds=1)) == 0
    assert ConnectorEvent.objects.count() == 3
    assert chain_anchor_get(chain=Chain.EVENTS) is None


def test_the_field_lists_cover_every_column_of_the_chained_tables():
    assert set(FIELDS["audit"][CURRENT_VERSION["audit"]]) == {
        f.attname for f in AuditEntry._meta.concrete_fields
    }
    assert set(FIELDS["events"][CURRENT_VERSION["events"]]) == {
        f.attname for f in ConnectorEvent._meta.concrete_fields
    }


def test_the_chain_starts_at_the_genesis_and_links_each_row(sealing):
    from audit.chain import GENESIS, canonical, link  # noqa: PLC0415

    (event,) = _events(1)
    sealing()
    stored = ChainLink.objects.get(chain=Chain.EVENTS, row_id=event.pk)
    row = ConnectorEvent.objects.values(*FIELDS["events"][1]).get(pk=event.pk)
    assert stored.link_hash == link(GENESIS["events"], canonical(row, FIELDS["events"][1]))
    assert stored.sealed_at <= timezone.now() + dt.timedelta(seconds=1)
