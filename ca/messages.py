"""The messages the RA sends to the CA worker: one small, typed, JSON-serialisable model per task.

Both sides share only these: the RA (web tier) sends a message by task name (``ca.dispatch``) and never
imports the CA worker's task module; the worker (``ca.tasks``) validates the message it receives before
it acts on it. A message carries ids and choices, never a key or a certificate body.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from ca.choices import RevocationReason

__all__ = [
    "CaTaskMessage",
    "CertificateIssueMessage",
    "CertificateRevokeMessage",
    "CrlGenerateMessage",
    "CrlRefreshMessage",
]


class CaTaskMessage(BaseModel):
    """Base of the CA worker's task messages; ``task_name`` is the task that takes it."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    task_name: ClassVar[str]


class CertificateIssueMessage(CaTaskMessage):
    """Issue the certificate of a queued ``CertificateRequest``."""

    task_name: ClassVar[str] = "ca.tasks.certificate_issue_task"
    request_id: int = Field(gt=0)


class CertificateRevokeMessage(CaTaskMessage):
    """Revoke an issued certificate with an RFC 5280 reason, then publish a CRL."""

    task_name: ClassVar[str] = "ca.tasks.certificate_revoke_task"
    certificate_id: int = Field(gt=0)
    reason: RevocationReason


class CrlGenerateMessage(CaTaskMessage):
    """Publish a new CRL for one CA."""

    task_name: ClassVar[str] = "ca.tasks.crl_generate_task"
    authority_id: int = Field(gt=0)


class CrlRefreshMessage(CaTaskMessage):
    """Publish a new CRL for every CA whose CRL is past half its lifetime (beat)."""

    task_name: ClassVar[str] = "ca.tasks.crl_refresh_task"
