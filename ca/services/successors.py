"""The CA side of a CA rollover: creating the successor (needs the parent's key: the CA worker runs it).

The successor is created by ``authority_create``, as ``init_ca`` creates a CA: its key is made by the key
backend and never leaves it in clear, its certificate is signed by the parent's key (an issuing CA's
rollover) or by its own (a root's), its subject is the old CA's unless the rollover names another. It
takes over the old CA's signature hash, CRL lifetime and published templates, and publishes its first
CRL at once, so that what it issues can be checked from the start.
"""

from __future__ import annotations

import logging

from cryptography import x509

from django.core.exceptions import ValidationError
from django.db import transaction

from ca.choices import RolloverStatus
from ca.crypto.keys import KeyPolicyError, KeySpec
from ca.key_backends import KeyBackendUnavailable
from ca.models import AuthorityRollover
from ca.services.authorities import authority_create
from ca.services.revocation import crl_generate
from core.exceptions import ApplicationError

__all__ = ["authority_successor_create"]

logger = logging.getLogger(__name__)


@transaction.atomic
def authority_successor_create(*, rollover_id: int) -> AuthorityRollover:
    """Create the successor of a requested rollover and mark the rollover prepared.

    Idempotent: a rollover that is no longer requested (prepared, cancelled, failed) is returned as it is.
    A request the CA refuses for good (a parent disabled or expired, a name taken, a bad subject or key)
    fails the rollover with the reason; an unavailable key backend raises (the rollover stays requested,
    ``ca_rollover prepare`` sends it again).
    """
    rollover = (
        AuthorityRollover.objects.select_for_update(of=("self",))  # parent is nullable: an outer join
        .select_related("authority", "parent")
        .get(pk=rollover_id)
    )
    if rollover.status != RolloverStatus.REQUESTED:
        return rollover
    authority = rollover.authority
    try:
        subject = (
            x509.Name.from_rfc4514_string(rollover.successor_subject)
            if rollover.successor_subject
            else authority.certificate.subject
        )
        with transaction.atomic():
            successor = authority_create(
                name=rollover.successor_name,
                slug=rollover.successor_slug,
                subject=subject,
                key_spec=KeySpec.parse(rollover.key_spec),
                validity_days=rollover.validity_days,
                parent=rollover.parent,
                path_length=rollover.path_length,
                key_backend=rollover.key_backend,
            )
            successor.signature_hash = authority.signature_hash
            successor.crl_validity_hours = authority.crl_validity_hours
            successor.save(update_fields=["signature_hash", "crl_validity_hours", "updated_at"])
            successor.published_templates.set(authority.published_templates.all())
            crl_generate(authority=successor)
    except KeyBackendUnavailable:
        raise  # this process cannot use the keys (not the CA worker?): the rollover stays requested
    except (ApplicationError, ValidationError, KeyPolicyError, ValueError) as exc:
        reason = exc.message if isinstance(exc, ApplicationError) else "; ".join(_messages(exc))
        logger.error("CA rollover %s of %s failed: %s", rollover.pk, authority.slug, reason)
        rollover.status = RolloverStatus.FAILED
        rollover.failure_reason = reason
        rollover.save(update_fields=["status", "failure_reason", "updated_at"])
        return rollover
    rollover.successor = successor
    rollover.status = RolloverStatus.PREPARED
    rollover.save(update_fields=["successor", "status", "updated_at"])
    logger.info(
        "CA rollover %s: created %s (%s) to succeed %s",
        rollover.pk,
        successor.slug,
        successor.subject,
        authority,
    )
    return rollover


def _messages(exc: Exception) -> list[str]:
    if isinstance(exc, ValidationError):
        return list(exc.messages)
    return [str(exc)]
