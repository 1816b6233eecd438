"""The event log's task on the default queue (``portal.celery`` discovers ``jobs`` modules)."""

from __future__ import annotations

import datetime as dt

from celery import shared_task

from eventlog.conf import eventlog_settings
from eventlog.services import event_prune

__all__ = ["event_prune_task"]


@shared_task(name="eventlog.jobs.event_prune_task", acks_late=True)
def event_prune_task() -> int:
    """Beat (daily): delete the events older than ``CERTPORTAL_EVENT_RETENTION_DAYS`` (0: keep them)."""
    days = eventlog_settings().EVENT_RETENTION_DAYS
    return event_prune(older_than=dt.timedelta(days=days)) if days else 0
