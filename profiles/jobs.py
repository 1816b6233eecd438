"""Tasks of the profiles app on the default queue (``portal.celery`` discovers ``jobs`` modules).

They never need a CA key; beat runs them (``CELERY_BEAT_SCHEDULE`` in ``portal/settings/base.py``).
"""

from __future__ import annotations

from celery import shared_task

from profiles.services.sweeps import device_certificate_sweep

__all__ = ["device_certificate_sweep_task"]


@shared_task(name="profiles.jobs.device_certificate_sweep_task", acks_late=True)
def device_certificate_sweep_task() -> dict[str, int]:
    """Beat (``CERTPORTAL_CERTIFICATE_SWEEP_INTERVAL``): mark device certificates renewal due, expired or
    revoked. Idempotent, so a redelivered or overlapping run is harmless.
    """
    return device_certificate_sweep().as_dict()
