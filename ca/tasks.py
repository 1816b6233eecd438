"""Tasks on the ``ca`` queue: the only code that loads CA private keys.

Each task takes one JSON-serialisable argument, fetches, and calls a CA-side service. In the embedded
default they run in the calling process; in production only the CA worker (``-Q ca``) runs them.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from celery import shared_task

from ca.models import CertificateAuthority
from ca.services.issuance import certificate_issue
from ca.services.revocation import certificate_revoke, crl_generate, crl_refresh

__all__ = [
    "certificate_issue_task",
    "certificate_request_sweep_task",
    "certificate_revoke_task",
    "crl_generate_task",
    "crl_refresh_task",
]

logger = logging.getLogger(__name__)


@shared_task(name="ca.tasks.certificate_issue_task", acks_late=True)
def certificate_issue_task(request_id: int) -> int | None:
    """Issue the certificate of a queued request; returns its id (None if the request failed)."""
    issued = certificate_issue(request_id=request_id)
    return issued.pk if issued is not None else None


@shared_task(name="ca.tasks.certificate_revoke_task", acks_late=True)
def certificate_revoke_task(args: dict[str, Any]) -> int:
    """Revoke ``args["certificate_id"]`` with ``args["reason"]`` and publish a new CRL."""
    certificate = certificate_revoke(certificate_id=int(args["certificate_id"]), reason=str(args["reason"]))
    return certificate.pk


@shared_task(name="ca.tasks.crl_generate_task", acks_late=True)
def crl_generate_task(authority_id: int) -> int:
    crl = crl_generate(authority=CertificateAuthority.objects.get(pk=authority_id))
    return crl.number


@shared_task(name="ca.tasks.crl_refresh_task", acks_late=True)
def crl_refresh_task() -> list[int]:
    """Beat: keep every CA's CRL fresh (a new one at half of the current one's lifetime)."""
    return [crl.pk for crl in crl_refresh()]


@shared_task(name="ca.tasks.certificate_request_sweep_task", acks_late=True)
def certificate_request_sweep_task() -> int:
    """Beat: dispatch again requests queued for more than two minutes (lost task, broker outage)."""
    from ca.services.submission import certificate_request_redispatch_stale  # noqa: PLC0415 - submission imports this module

    return certificate_request_redispatch_stale(older_than=dt.timedelta(minutes=2))
