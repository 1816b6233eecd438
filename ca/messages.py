"""The messages the RA sends to the CA worker: one small, typed, JSON-serialisable model per task.

Both sides share only these: the RA (web tier) sends a message by task name (``ca.dispatch``) and never
imports the CA worker's task module; the worker (``ca.tasks``) validates the message it receives before
it acts on it. A message carries ids and choices, never a key or a certificate body.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "AuthorityKeysCheckMessage",
    "AuthoritySuccessorCreateMessage",
    "CaTaskMessage",
    "CertificateIssueMessage",
    "CrlGenerateMessage",
    "CrlRefreshMessage",
    "PkcsCertificateIssueMessage",
    "RevocationRequestExecuteMessage",
]


class CaTaskMessage(BaseModel):
    """Base of the CA worker's task messages; ``task_name`` is the task that takes it."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    task_name: ClassVar[str]


class CertificateIssueMessage(CaTaskMessage):
    """Issue the certificate of a queued ``CertificateRequest``."""

    task_name: ClassVar[str] = "ca.tasks.certificate_issue_task"
    request_id: int = Field(gt=0)


class PkcsCertificateIssueMessage(CaTaskMessage):
    """Generate the key of a queued ``PkcsRequest``, issue its certificate and keep the encrypted PKCS#12."""

    task_name: ClassVar[str] = "ca.tasks.pkcs_certificate_issue_task"
    request_id: int = Field(gt=0)


class RevocationRequestExecuteMessage(CaTaskMessage):
    """Carry out a queued revocation request: revoke its certificates, publish one CRL per CA."""

    task_name: ClassVar[str] = "ca.tasks.revocation_request_execute_task"
    request_id: int = Field(gt=0)


class CrlGenerateMessage(CaTaskMessage):
    """Publish a new CRL for one CA."""

    task_name: ClassVar[str] = "ca.tasks.crl_generate_task"
    authority_id: int = Field(gt=0)


class CrlRefreshMessage(CaTaskMessage):
    """Publish a new CRL for every CA whose CRL is past half its lifetime (beat)."""

    task_name: ClassVar[str] = "ca.tasks.crl_refresh_task"


class AuthoritySuccessorCreateMessage(CaTaskMessage):
    """Create the successor of a CA rollover (a new key and certificate, signed by the parent's key)."""

    task_name: ClassVar[str] = "ca.tasks.authority_successor_create_task"
    rollover_id: int = Field(gt=0)


class AuthorityKeysCheckMessage(CaTaskMessage):
    """Can every enabled CA's key sign? (``ca.services.key_checks``; readiness in the embedded default.)"""

    task_name: ClassVar[str] = "ca.tasks.authority_keys_check_task"
