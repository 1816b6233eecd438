"""The RA side of revocation: durable revocation requests, sent to the CA worker by task name.

A request is written in the caller's database transaction (an admin's revocation, a device retired, a
profile unassigned ...) and sent to the ``ca`` queue once that commits, so a broker that is down loses
nothing: the request stays queued and the stale-request sweep sends it again. A certificate that is
revoked already, or already in a queued request, is not asked for again (asked twice, revoked once).
None of this touches a CA key.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from ca.choices import RevocationCause, RevocationReason, RevocationRequestStatus
from ca.dispatch import ca_task_result, ca_task_results_available, ca_task_send
from ca.exceptions import CertificateAlreadyRevoked, PolicyViolation, RevocationNotPermitted
from ca.messages import RevocationRequestExecuteMessage
from ca.models import IssuedCertificate, RevocationRequest, RevocationRequestItem
from ca.observers import certificate_observers
from ca.services.revocation_events import revocation_denied_record
from core.requesters import REVOKE_PERMISSION, current_requester, requester_may

__all__ = [
    "AdminRevocation",
    "certificate_revoke_by_admin",
    "certificate_revoke_check",
    "revocation_denied_record",
    "revocation_request_create",
    "revocation_request_dispatch",
    "revocation_request_redispatch_stale",
    "revocation_request_wait",
]

logger = logging.getLogger(__name__)


def certificate_revoke_check(*, certificate: IssuedCertificate, reason: str) -> RevocationReason:
    """Checks before asking for one certificate's revocation: a valid RFC 5280 reason, not revoked."""
    if reason not in RevocationReason.values:
        raise PolicyViolation(f"unknown revocation reason {reason!r}", code="reason_invalid")
    if certificate.revoked_at is not None:
        raise CertificateAlreadyRevoked(
            f"certificate {certificate.serial} was revoked at {certificate.revoked_at:%Y-%m-%d %H:%M:%S}Z"
        )
    return RevocationReason(reason)


def _open_requests(certificate_ids: Iterable[int]) -> dict[int, RevocationRequest]:
    """For each certificate already in a queued revocation request: that request."""
    items = RevocationRequestItem.objects.filter(
        certificate_id__in=list(certificate_ids), request__status=RevocationRequestStatus.QUEUED
    ).select_related("request")
    return {item.certificate_id: item.request for item in items}


@transaction.atomic
def revocation_request_create(
    *,
    certificates: Sequence[IssuedCertificate],
    reason: RevocationReason | str,
    cause: RevocationCause | str,
    requested_by: str,
    comment: str = "",
) -> RevocationRequest | None:
    """Ask the CA worker to revoke ``certificates``; the request is sent once the transaction commits.

    Certificates that are revoked already, or in a queued request already, are left out. Returns the new
    request; if nothing was left to ask for, the queued request that holds them (or None when they are
    all revoked). RevocationNotPermitted when whoever is asking (``core.requesters``) lacks the revoke right:
    whatever the path (an administrator's revocation, a device retired, a profile unassigned), revoking
    needs it.
    """
    reason = RevocationReason(reason)
    cause = RevocationCause(cause)
    wanted = {certificate.pk: certificate for certificate in certificates}
    locked = list(
        IssuedCertificate.objects.select_for_update().filter(pk__in=list(wanted), revoked_at__isnull=True)
    )
    queued = _open_requests(certificate.pk for certificate in locked)
    todo = [certificate for certificate in locked if certificate.pk not in queued]
    if not todo:
        return next(iter(queued.values()), None)
    if not requester_may(REVOKE_PERMISSION):
        requester = current_requester()
        name = requester.name if requester is not None else requested_by
        raise RevocationNotPermitted(
            f"{name} may not revoke certificates, and this would revoke {len(todo)}: it needs the "
            "certificate manager's revoke right (or a profile set to keep its certificates)",
            requested_by=name,
            certificate_ids=tuple(certificate.pk for certificate in todo),
        )
    request = RevocationRequest.objects.create(
        reason=reason,
        cause=cause,
        requested_by=requested_by[:255],
        comment=comment,
        task_id=str(uuid.uuid4()),
    )
    context: dict[int, dict[str, object]] = {}
    for observer in certificate_observers.all():
        for certificate_id, known in observer.revocation_context([c.pk for c in todo]).items():
            context.setdefault(certificate_id, {}).update(known)
    RevocationRequestItem.objects.bulk_create(
        RevocationRequestItem(
            request=request, certificate=certificate, context=context.get(certificate.pk, {})
        )
        for certificate in todo
    )
    for observer in certificate_observers.all():
        observer.revocation_requested(request)
    transaction.on_commit(lambda: revocation_request_dispatch(request), robust=True)
    logger.info("revocation request %s (%s, %s): %s certificate(s)", request.pk, cause, reason, len(todo))
    return request


def revocation_request_dispatch(request: RevocationRequest) -> None:
    """Hand a queued request to the CA worker (in the embedded default: carry it out now).

    Failing to reach the broker leaves the request queued; the beat sweep sends it again.
    """
    try:
        ca_task_send(RevocationRequestExecuteMessage(request_id=request.pk), task_id=request.task_id or None)
    except Exception:
        logger.exception("could not dispatch revocation request %s; it stays queued", request.pk)


def revocation_request_redispatch_stale(*, older_than: dt.timedelta) -> int:
    """Send again the revocation requests that stayed queued for ``older_than`` (broker down, lost task).

    Carrying out a request is idempotent, so one that was in fact being handled is not revoked twice.
    """
    cutoff = timezone.now() - older_than
    stale = list(
        RevocationRequest.objects.filter(status=RevocationRequestStatus.QUEUED, updated_at__lt=cutoff)
    )
    for request in stale:
        RevocationRequest.objects.filter(pk=request.pk).update(updated_at=timezone.now())
        logger.warning(
            "revocation request %s still queued since %s; dispatching again", request.pk, request.updated_at
        )
        revocation_request_dispatch(request)
    return len(stale)


def revocation_request_wait(*, request: RevocationRequest, timeout: float) -> RevocationRequest:
    """Wait up to ``timeout`` seconds for the CA worker to carry out ``request``; return it refreshed."""
    request.refresh_from_db()
    if request.status != RevocationRequestStatus.QUEUED or timeout <= 0:
        return request
    deadline = time.monotonic() + timeout
    if ca_task_results_available() and request.task_id:
        try:
            ca_task_result(request.task_id).get(timeout=timeout, propagate=False)
        except Exception:
            logger.debug("task result for revocation request %s not available; polling", request.pk)
        request.refresh_from_db()
    delay = 0.01
    while request.status == RevocationRequestStatus.QUEUED and time.monotonic() < deadline:
        time.sleep(min(delay, max(deadline - time.monotonic(), 0)))
        delay = min(delay * 2, 0.25)
        request.refresh_from_db()
    return request


@dataclass(frozen=True)
class AdminRevocation:
    certificate: IssuedCertificate
    request: RevocationRequest

    @property
    def done(self) -> bool:
        return self.certificate.revoked_at is not None


def certificate_revoke_by_admin(
    *, certificate: IssuedCertificate, reason: str, requested_by: str, comment: str = "", wait: float
) -> AdminRevocation:
    """An administrator's revocation (API, admin, ``revoke_certificate``): check, ask, and wait up to
    ``wait`` seconds for the CA worker. The answer says whether it is done or still queued.
    """
    revocation_reason = certificate_revoke_check(certificate=certificate, reason=reason)
    request = revocation_request_create(
        certificates=[certificate],
        reason=revocation_reason,
        cause=RevocationCause.ADMIN,
        requested_by=requested_by,
        comment=comment,
    )
    if request is None:  # revoked between the check and the lock
        certificate.refresh_from_db()
        raise CertificateAlreadyRevoked(f"certificate {certificate.serial} is already revoked")
    request = revocation_request_wait(request=request, timeout=wait)
    certificate.refresh_from_db()
    return AdminRevocation(certificate=certificate, request=request)
