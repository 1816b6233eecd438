"""Retention of SCEP transactions: refused and failed ones are deleted after a while.

Anyone can make the endpoint record a refused transaction, so they are bounded in size (see
``enrollment.services.pki_operation.transaction``) and in time: ``scep_transaction_prune`` deletes the
FAILURE transactions last changed more than ``CERTPORTAL_SCEP_REFUSED_RETENTION_DAYS`` ago (the daily job
``enrollment.jobs.scep_transaction_prune_task``), in short batches. Their events stay, under the event
log's own retention; successful and pending transactions are kept (a retransmission must find them).
"""

from __future__ import annotations

import datetime as dt
import logging

from django.utils import timezone

from enrollment.choices import TransactionStatus
from enrollment.models import ScepTransaction

__all__ = ["PRUNE_BATCH", "scep_transaction_prune"]

logger = logging.getLogger(__name__)

#: Rows deleted per statement: short statements, no long lock on a large table.
PRUNE_BATCH = 2000


def scep_transaction_prune(*, older_than: dt.timedelta, now: dt.datetime | None = None) -> int:
    """Delete the refused and failed transactions last changed before ``now - older_than``; how many went."""
    cutoff = (now or timezone.now()) - older_than
    expired = ScepTransaction.objects.filter(status=TransactionStatus.FAILURE, updated_at__lt=cutoff)
    deleted = 0
    while True:
        batch = list(expired.order_by("updated_at", "pk").values_list("pk", flat=True)[:PRUNE_BATCH])
        if not batch:
            break
        deleted += ScepTransaction.objects.filter(pk__in=batch).delete()[0]
    if deleted:
        logger.info(
            "deleted %s refused or failed SCEP transaction(s) last changed before %s", deleted, cutoff
        )
    return deleted
