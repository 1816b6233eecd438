"""The project's beat tasks on the default queue (``portal.celery`` discovers ``jobs`` modules).

The scheduled CA rollover switch needs no CA key (the successor exists, its RAs are issued): it moves
templates, SCEP services and SCEP profiles in one database transaction (``portal.rollover``).
"""

from __future__ import annotations

from celery import shared_task

from portal.rollover import ca_rollover_switch_due

__all__ = ["ca_rollover_switch_due_task"]


@shared_task(name="portal.jobs.ca_rollover_switch_due_task", acks_late=True)
def ca_rollover_switch_due_task() -> list[int]:
    """Beat (every minute): switch the prepared CA rollovers whose time has come; the ids of those switched.

    Idempotent: each switch locks its rollover and refuses one that is no longer prepared.
    """
    return [report.rollover.pk for report in ca_rollover_switch_due()]
