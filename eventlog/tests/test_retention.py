"""Retention: the daily job deletes the events older than CERTPORTAL_EVENT_RETENTION_DAYS, in batches."""

from __future__ import annotations

import datetime as dt

import pytest

from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.utils import timezone

from eventlog import services
from eventlog.choices import EventId
from eventlog.jobs import event_prune_task
from eventlog.models import ConnectorEvent
from eventlog.services import event_record

NOW = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)


def _record_at(when: dt.datetime, time_machine, n: int = 1) -> None:
    time_machine.move_to(when, tick=False)
    for _ in range(n):
        event_record(event_id=EventId.DEVICE_CHECK_IN, message=f"at {when.isoformat()}", device_id=1)


def test_the_job_deletes_what_is_past_retention_and_keeps_the_rest(db, settings, time_machine, monkeypatch):
    settings.CERTPORTAL_EVENT_RETENTION_DAYS = 30
    monkeypatch.setattr(services, "PRUNE_BATCH", 3)  # several batches
    _record_at(NOW - dt.timedelta(days=31), time_machine, n=7)
    _record_at(NOW - dt.timedelta(days=30, seconds=1), time_machine)
    _record_at(NOW - dt.timedelta(days=29), time_machine, n=2)
    time_machine.move_to(NOW, tick=False)

    assert event_prune_task() == 8

    kept = ConnectorEvent.objects.all()
    assert kept.count() == 2
    assert all(event.created_at == NOW - dt.timedelta(days=29) for event in kept)
    assert event_prune_task() == 0


def test_zero_keeps_every_event(db, settings, time_machine):
    settings.CERTPORTAL_EVENT_RETENTION_DAYS = 0
    _record_at(timezone.now() - dt.timedelta(days=3000), time_machine)
    time_machine.move_to(NOW, tick=False)

    assert event_prune_task() == 0
    assert ConnectorEvent.objects.count() == 1


def test_a_negative_retention_fails_the_system_check(settings):
    settings.CERTPORTAL_EVENT_RETENTION_DAYS = -1

    with pytest.raises(SystemCheckError, match="EVENT_RETENTION_DAYS"):
        call_command("check")
