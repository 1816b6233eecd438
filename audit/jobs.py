"""The audit log's task on the default queue (``portal.celery`` discovers ``jobs`` modules)."""

from __future__ import annotations

from celery import shared_task

from audit.services.sealing import SEAL_RUN_LIMIT, chain_seal

__all__ = ["audit_seal_task"]


@shared_task(name="audit.jobs.audit_seal_task", acks_late=True)
def audit_seal_task() -> dict[str, int]:
    """Beat (every ``CERTPORTAL_AUDIT_SEAL_INTERVAL`` seconds): extend the hash chains over the audit log
    and the event log; how many rows each got. Safe to run twice at once (one sealer per chain).
    """
    return chain_seal(limit=SEAL_RUN_LIMIT)
