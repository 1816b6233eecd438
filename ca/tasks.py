"""Tasks on the ``ca`` queue: the only code that loads CA private keys.

Each task takes one ``ca.messages`` message (as JSON), validates it, and calls a CA-side service. The
RA sends them by name (``ca.dispatch``); in production only the CA worker (``-Q ca``) imports this
module and runs them, in the embedded default they run in the calling process.

Taking a certificate or revocation request off the queue and storing its result is the connector's
download: 20400 Download_Success (with the certificate's serial and thumbprint when one was issued), or
20402 Download_Failure when the task fails (0x00000400 when the CA key cannot be loaded). A task that
meets the database or the broker down is retried with backoff (``ca.task_base.CaTask``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from celery import shared_task

from ca.key_backends import KeyBackendUnavailable
from ca.messages import (
    AuthorityKeysCheckMessage,
    AuthoritySuccessorCreateMessage,
    CertificateIssueMessage,
    CrlGenerateMessage,
    CrlRefreshMessage,
    PkcsCertificateIssueMessage,
    RevocationRequestExecuteMessage,
)
from ca.models import CertificateAuthority, IssuedCertificate
from ca.services.issuance import certificate_issue
from ca.services.key_checks import authority_keys_check
from ca.services.pkcs_issuance import pkcs_certificate_issue
from ca.services.revocation import crl_generate, crl_refresh, revocation_request_execute
from ca.services.successors import authority_successor_create
from ca.task_base import CaTask
from eventlog.choices import DiagnosticCode, EventId, EventLevel
from eventlog.services import EventLinks, event_record

__all__ = [
    "authority_keys_check_task",
    "authority_successor_create_task",
    "certificate_issue_task",
    "crl_generate_task",
    "crl_refresh_task",
    "pkcs_certificate_issue_task",
    "revocation_request_execute_task",
]

logger = logging.getLogger(__name__)


@dataclass
class _Download:
    """What the task stored: the event's message and links."""

    result: str = ""
    links: EventLinks = field(default_factory=EventLinks)
    #: The success event was written already (by ``record``, in the task's own transaction).
    recorded: bool = False
    what: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    def record(self) -> None:
        """Write the success event now: called inside the transaction that stores the result, so that
        both commit together (one commit per certificate on the CA worker).
        """
        event_record(
            event_id=EventId.DOWNLOAD_SUCCESS,
            message=f"{self.what}: {self.result}",
            diagnostic_code=DiagnosticCode.SUCCESS,
            details=self.details,
            **self.links,
        )
        self.recorded = True


@contextmanager
def _downloaded(task_name: str, payload: dict[str, Any]) -> Iterator[_Download]:
    """Record the task's download of its request: 20400 when the body completes, 20402 when it raises."""
    arguments = ", ".join(f"{name}={value}" for name, value in payload.items())
    what = f"{task_name.rsplit('.', 1)[-1]}({arguments})"
    details = {"task": task_name, **payload}
    download = _Download(what=what, details=details)
    try:
        yield download
    except Exception as exc:  # recorded and raised again: Celery marks the task failed
        unavailable = isinstance(exc, KeyBackendUnavailable)
        event_record(
            event_id=EventId.DOWNLOAD_FAILURE,
            level=EventLevel.ERROR,
            message=f"{what} failed: {exc}",
            diagnostic_code=DiagnosticCode.PKCS_ISSUE_CA_UNAVAILABLE
            if unavailable
            else DiagnosticCode.UNKNOWN_ERROR,
            details={**details, "error": type(exc).__name__},
        )
        raise
    if not download.recorded:
        download.record()


@shared_task(name=CertificateIssueMessage.task_name, base=CaTask, acks_late=True)
def certificate_issue_task(payload: dict[str, Any]) -> int | None:
    """Issue the certificate of a queued request; returns its id (None if the request failed)."""
    message = CertificateIssueMessage.model_validate(payload)  # a malformed message: refused, nothing done
    with _downloaded(CertificateIssueMessage.task_name, payload) as download:

        def issued_now(issued: IssuedCertificate) -> None:
            download.result = f"issued certificate {issued.serial}"
            download.links = EventLinks(
                authority_slug=issued.authority.slug,
                ca_name=issued.authority.name,
                template_name=issued.template.name,
                serial=issued.serial,
                thumbprint=issued.fingerprint_sha1,
            )
            download.record()

        issued = certificate_issue(request_id=message.request_id, on_issued=issued_now)
        if issued is None:
            download.result = "the request failed at signing time"
            return None
        return issued.pk


@shared_task(name=PkcsCertificateIssueMessage.task_name, base=CaTask, acks_late=True)
def pkcs_certificate_issue_task(payload: dict[str, Any]) -> str:
    """Generate a device's key, issue its certificate, keep the encrypted PKCS#12; returns the status."""
    message = PkcsCertificateIssueMessage.model_validate(payload)
    with _downloaded(PkcsCertificateIssueMessage.task_name, payload) as download:
        request = pkcs_certificate_issue(request_id=message.request_id)
        download.result = f"PKCS request {request.pk} is {request.status}"
        if request.certificate is not None:
            issued = request.certificate
            download.links = EventLinks(
                authority_slug=request.authority.slug,
                ca_name=request.authority.name,
                template_name=request.template.name,
                serial=issued.serial,
                thumbprint=issued.fingerprint_sha1,
            )
        return str(request.status)


@shared_task(name=RevocationRequestExecuteMessage.task_name, base=CaTask, acks_late=True)
def revocation_request_execute_task(payload: dict[str, Any]) -> str:
    """Revoke the request's certificates and publish a new CRL per CA; returns the request's status."""
    message = RevocationRequestExecuteMessage.model_validate(payload)
    with _downloaded(RevocationRequestExecuteMessage.task_name, payload) as download:
        status = str(revocation_request_execute(request_id=message.request_id).status)
        download.result = f"revocation request {message.request_id} is {status}"
        return status


@shared_task(name=CrlGenerateMessage.task_name, base=CaTask, acks_late=True)
def crl_generate_task(payload: dict[str, Any]) -> int:
    message = CrlGenerateMessage.model_validate(payload)
    crl = crl_generate(authority=CertificateAuthority.objects.get(pk=message.authority_id))
    return crl.number


@shared_task(name=CrlRefreshMessage.task_name, base=CaTask, acks_late=True)
def crl_refresh_task(payload: dict[str, Any] | None = None) -> list[int]:
    """Beat: keep every CA's CRL fresh (a new one at half of the current one's lifetime)."""
    CrlRefreshMessage.model_validate(payload or {})
    return [crl.pk for crl in crl_refresh()]


@shared_task(name=AuthoritySuccessorCreateMessage.task_name, base=CaTask, acks_late=True)
def authority_successor_create_task(payload: dict[str, Any]) -> str:
    """CA rollover: create the next CA (its key in the key backend, its certificate signed by the parent's
    key or by its own); returns the rollover's status. Idempotent: a rollover done already is left as it is.
    """
    message = AuthoritySuccessorCreateMessage.model_validate(payload)
    return str(authority_successor_create(rollover_id=message.rollover_id).status)


@shared_task(name=AuthorityKeysCheckMessage.task_name)
def authority_keys_check_task(payload: dict[str, Any] | None = None) -> list[str]:
    """One line per enabled CA whose key cannot sign ("slug: reason"); empty when every key can."""
    AuthorityKeysCheckMessage.model_validate(payload or {})
    return [f"{problem.slug}: {problem.reason}" for problem in authority_keys_check()]
