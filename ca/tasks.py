"""Tasks on the ``ca`` queue: the only code that loads CA private keys.

Each task takes one ``ca.messages`` message (as JSON), validates it, and calls a CA-side service. The
RA sends them by name (``ca.dispatch``); in production only the CA worker (``-Q ca``) imports this
module and runs them, in the embedded default they run in the calling process.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task

from ca.messages import (
    CertificateIssueMessage,
    CertificateRevokeMessage,
    CrlGenerateMessage,
    CrlRefreshMessage,
)
from ca.models import CertificateAuthority
from ca.services.issuance import certificate_issue
from ca.services.revocation import certificate_revoke, crl_generate, crl_refresh

__all__ = ["certificate_issue_task", "certificate_revoke_task", "crl_generate_task", "crl_refresh_task"]

logger = logging.getLogger(__name__)


@shared_task(name=CertificateIssueMessage.task_name, acks_late=True)
def certificate_issue_task(payload: dict[str, Any]) -> int | None:
    """Issue the certificate of a queued request; returns its id (None if the request failed)."""
    message = CertificateIssueMessage.model_validate(payload)
    issued = certificate_issue(request_id=message.request_id)
    return issued.pk if issued is not None else None


@shared_task(name=CertificateRevokeMessage.task_name, acks_late=True)
def certificate_revoke_task(payload: dict[str, Any]) -> int:
    """Revoke the certificate and publish a new CRL."""
    message = CertificateRevokeMessage.model_validate(payload)
    certificate = certificate_revoke(certificate_id=message.certificate_id, reason=message.reason)
    return certificate.pk


@shared_task(name=CrlGenerateMessage.task_name, acks_late=True)
def crl_generate_task(payload: dict[str, Any]) -> int:
    message = CrlGenerateMessage.model_validate(payload)
    crl = crl_generate(authority=CertificateAuthority.objects.get(pk=message.authority_id))
    return crl.number


@shared_task(name=CrlRefreshMessage.task_name, acks_late=True)
def crl_refresh_task(payload: dict[str, Any] | None = None) -> list[int]:
    """Beat: keep every CA's CRL fresh (a new one at half of the current one's lifetime)."""
    CrlRefreshMessage.model_validate(payload or {})
    return [crl.pk for crl in crl_refresh()]
