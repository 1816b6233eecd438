"""Tasks on the default queue for the SCEP front end (``portal.celery`` discovers ``jobs`` modules).

The RA renewal needs the RA key passphrase (the new key is kept encrypted with it), never the CA's: the
CA worker signs the new RA certificate through the ordinary request queue. The transaction retention
needs no secret.
"""

from __future__ import annotations

import datetime as dt

from celery import shared_task

from enrollment.conf import enrollment_settings
from enrollment.services.registration import registration_authority_renew_due
from enrollment.services.retention import scep_transaction_prune

__all__ = ["registration_authority_renew_task", "scep_transaction_prune_task"]

#: How long the job waits for the CA worker to sign one RA certificate (within the task time limits).
RA_RENEWAL_WAIT = 30.0


@shared_task(name="enrollment.jobs.registration_authority_renew_task", acks_late=True)
def registration_authority_renew_task() -> list[int]:
    """Beat: renew the RA certificates of the enabled SCEP services that are near their end (10100/10102)."""
    return [ra.pk for ra in registration_authority_renew_due(wait=RA_RENEWAL_WAIT)]


@shared_task(name="enrollment.jobs.scep_transaction_prune_task", acks_late=True)
def scep_transaction_prune_task() -> int:
    """Beat (daily): delete the refused and failed SCEP transactions past their retention; how many went."""
    days = enrollment_settings().SCEP_REFUSED_RETENTION_DAYS
    return scep_transaction_prune(older_than=dt.timedelta(days=days))
