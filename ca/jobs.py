"""Tasks on the default queue for the RA side of the CA. They never need a CA key.

(``ca.tasks`` holds the CA worker's tasks; ``jobs`` modules hold each app's default-queue tasks:
sweeps, notifications, bulk work. ``portal.celery`` discovers both.)
"""

from __future__ import annotations

import datetime as dt

from celery import shared_task

from ca.conf import ca_settings
from ca.services.submission import certificate_request_redispatch_stale

__all__ = ["certificate_request_sweep_task"]


@shared_task(name="ca.jobs.certificate_request_sweep_task", acks_late=True)
def certificate_request_sweep_task() -> int:
    """Beat: dispatch again requests queued for longer than ``CERTPORTAL_REQUEST_REDISPATCH_AFTER`` (a lost
    task, a broker outage at submission).
    """
    after = dt.timedelta(seconds=ca_settings().REQUEST_REDISPATCH_AFTER)
    return certificate_request_redispatch_stale(older_than=after)
