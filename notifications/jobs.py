"""Beat tasks of the notifications app, on the default queue (``portal.celery`` discovers ``jobs`` modules).

Both are idempotent (a notice is recorded once it went out), so a redelivered or overlapping run is harmless.
"""

from __future__ import annotations

from typing import Any

from celery import shared_task

from notifications.services import certificate_expiry_notify, enrollment_failure_notify

__all__ = ["certificate_expiry_notify_task", "enrollment_failure_notify_task"]


@shared_task(name="notifications.jobs.certificate_expiry_notify_task", acks_late=True)
def certificate_expiry_notify_task() -> dict[str, Any]:
    """Beat (``CERTPORTAL_NOTIFY_EXPIRY_INTERVAL``, daily): certificates entering the expiry window."""
    return certificate_expiry_notify().as_dict()


@shared_task(name="notifications.jobs.enrollment_failure_notify_task", acks_late=True)
def enrollment_failure_notify_task() -> dict[str, Any]:
    """Beat (``CERTPORTAL_NOTIFY_FAILURE_INTERVAL``, hourly): device enrollments that failed."""
    return enrollment_failure_notify().as_dict()
