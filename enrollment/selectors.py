"""Reads of the SCEP front end: finding the transaction a message belongs to."""

from __future__ import annotations

from django.db.models import QuerySet

from enrollment.choices import TransactionStatus
from enrollment.models import ScepService, ScepTransaction

__all__ = ["scep_transaction_find", "scep_transaction_latest", "scep_transaction_pending_elsewhere"]


def _transactions(service: ScepService, transaction_id: str) -> QuerySet[ScepTransaction]:
    return ScepTransaction.objects.select_related("certificate_request", "certificate").filter(
        service=service, transaction_id=transaction_id
    )


def scep_transaction_find(
    *, service: ScepService, transaction_id: str, request_key: str
) -> ScepTransaction | None:
    """The transaction of exactly this request (a retransmission has the same request key)."""
    return _transactions(service, transaction_id).filter(request_key=request_key).first()


def scep_transaction_latest(*, service: ScepService, transaction_id: str) -> ScepTransaction | None:
    """The newest transaction under ``transaction_id`` (what a CertPoll asks about)."""
    return _transactions(service, transaction_id).order_by("-created_at").first()


def scep_transaction_pending_elsewhere(
    *, service: ScepService, transaction_id: str, request_key: str
) -> bool:
    """Whether another request (not this one) is still pending under ``transaction_id``."""
    return (
        ScepTransaction.objects.filter(
            service=service, transaction_id=transaction_id, status=TransactionStatus.PENDING
        )
        .exclude(request_key=request_key)
        .exists()
    )
