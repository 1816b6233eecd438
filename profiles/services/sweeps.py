"""The device certificate sweep: what the clock and the CA's rows say about every device's certificates.

Beat runs it on the default queue (``profiles.jobs.device_certificate_sweep_task``, every
``CERTPORTAL_CERTIFICATE_SWEEP_INTERVAL`` seconds). Three passes, in this order, so that a certificate
changes status at most once per run:

1. **revoked** in the CA's rows (``revoked_at`` set) while the binding does not say so: the safety net
   for a revocation whose observer call was lost (``profiles.certificate_observer``);
2. **expired**: notAfter has passed;
3. **renewal due**: ``renewal_due_at`` (the profile's renewal threshold) has passed and the binding still
   says issued.

Each pass updates the bindings (``DeviceCertificate``) and then the device's state for the profile
(``DeviceCertificateState``) where that certificate is the state's current one and the state still says
the certificate is in use (a state that says failed, challenge issued, removed... keeps its word).

Every write is a conditional, set-based UPDATE of at most ``batch_size`` rows whose WHERE clause repeats
the pass's condition, so a row that changed no longer matches: the sweep is idempotent, two runs at once
cannot change a row twice, and memory and queries depend only on how many rows change (one SELECT of ids
and one UPDATE per batch) and on how many profiles and revocation reasons are involved, never on how many
bindings there are.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from typing import Any, TypeVar

from django.db import models
from django.db.models import Case, F, OuterRef, Q, QuerySet, Subquery, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from ca.choices import RevocationReason
from profiles.choices import CertificateState, DeviceCertificateStatus, RevokeStatus
from profiles.models import DeviceCertificate, DeviceCertificateState

__all__ = [
    "EXPIRED_REASON",
    "SWEEP_BATCH_SIZE",
    "CertificateSweepResult",
    "device_certificate_sweep",
    "renewal_due_reason",
    "revoked_reason",
]

logger = logging.getLogger(__name__)

#: Rows per UPDATE: short row locks, bounded memory for the ids.
SWEEP_BATCH_SIZE = 2000

EXPIRED_REASON = "the certificate has expired"

#: Device states that say the current certificate is in use; only these follow the certificate.
_IN_USE = (CertificateState.ISSUED, CertificateState.RENEWAL_DUE)

ModelT = TypeVar("ModelT", bound=models.Model)


def renewal_due_reason(threshold_percentage: int | None) -> str:
    """The reason of a renewal-due status (the same words as the check-in's)."""
    if threshold_percentage is None:  # the profile was deleted since
        return "the certificate's renewal threshold has passed"
    return f"less than {threshold_percentage}% of the certificate's lifetime remains"


def revoked_reason(revocation_reason: str) -> str:
    """The reason of a revoked status, from the certificate's RFC 5280 revocation reason."""
    try:
        label = RevocationReason(revocation_reason).label
    except ValueError:
        label = revocation_reason or "no reason recorded"
    return f"revoked ({label.lower()})"


@dataclasses.dataclass(frozen=True)
class CertificateSweepResult:
    """How many bindings and device states each pass changed."""

    revoked: int = 0
    expired: int = 0
    renewal_due: int = 0
    states_revoked: int = 0
    states_expired: int = 0
    states_renewal_due: int = 0

    @property
    def changed(self) -> int:
        return sum(self.as_dict().values())

    def as_dict(self) -> dict[str, int]:
        return dataclasses.asdict(self)


def device_certificate_sweep(
    *, now: dt.datetime | None = None, batch_size: int = SWEEP_BATCH_SIZE
) -> CertificateSweepResult:
    """Bring the device certificates' statuses, and the device states that follow them, up to date."""
    now = now or timezone.now()
    revoked, states_revoked = _sweep_revoked(now, batch_size)
    expired, states_expired = _sweep_expired(now, batch_size)
    renewal_due, states_renewal_due = _sweep_renewal_due(now, batch_size)
    result = CertificateSweepResult(
        revoked=revoked,
        expired=expired,
        renewal_due=renewal_due,
        states_revoked=states_revoked,
        states_expired=states_expired,
        states_renewal_due=states_renewal_due,
    )
    if result.changed:
        logger.info("device certificate sweep: %s", result.as_dict())
    return result


def _sweep_revoked(now: dt.datetime, batch_size: int) -> tuple[int, int]:
    stale = DeviceCertificate.objects.filter(certificate__revoked_at__isnull=False).filter(
        ~Q(status=DeviceCertificateStatus.REVOKED) | ~Q(revoke_status=RevokeStatus.REVOKED)
    )
    bindings = 0
    for reason in _distinct(stale, "certificate__revocation_reason"):
        text = revoked_reason(reason)
        already = Q(status=DeviceCertificateStatus.REVOKED)
        already_revoke = Q(revoke_status=RevokeStatus.REVOKED)
        bindings += _update_batched(
            stale.filter(certificate__revocation_reason=reason),
            batch_size,
            status=DeviceCertificateStatus.REVOKED,
            status_reason=Case(When(already, then=F("status_reason")), default=Value(text)),
            status_changed_at=Case(When(already, then=F("status_changed_at")), default=Value(now)),
            revoke_status=RevokeStatus.REVOKED,
            revoke_status_changed_at=Case(
                When(already_revoke, then=F("revoke_status_changed_at")), default=Value(now)
            ),
        )
    # An expired certificate the CA revoked afterwards is revoked: the CA has the last word.
    states = DeviceCertificateState.objects.filter(
        state__in=(*_IN_USE, CertificateState.EXPIRED), certificate__revoked_at__isnull=False
    )
    changed = 0
    for reason in _distinct(states, "certificate__revocation_reason"):
        changed += _update_batched(
            states.filter(certificate__revocation_reason=reason),
            batch_size,
            state=CertificateState.REVOKED,
            reason=revoked_reason(reason),
            state_changed_at=now,
            updated_at=now,
        )
    return bindings, changed


def _sweep_expired(now: dt.datetime, batch_size: int) -> tuple[int, int]:
    bindings = _update_batched(
        DeviceCertificate.objects.filter(
            certificate__not_after__lte=now, certificate__revoked_at__isnull=True
        ).exclude(status__in=(DeviceCertificateStatus.REVOKED, DeviceCertificateStatus.EXPIRED)),
        batch_size,
        status=DeviceCertificateStatus.EXPIRED,
        status_reason=EXPIRED_REASON,
        status_changed_at=now,
    )
    states = _update_batched(
        DeviceCertificateState.objects.filter(
            state__in=_IN_USE, certificate__not_after__lte=now, certificate__revoked_at__isnull=True
        ),
        batch_size,
        state=CertificateState.EXPIRED,
        reason=EXPIRED_REASON,
        state_changed_at=now,
        updated_at=now,
    )
    return bindings, states


def _sweep_renewal_due(now: dt.datetime, batch_size: int) -> tuple[int, int]:
    due = DeviceCertificate.objects.filter(
        status=DeviceCertificateStatus.ISSUED,
        renewal_due_at__lte=now,
        certificate__revoked_at__isnull=True,
        certificate__not_after__gt=now,
    )
    bindings = 0
    for profile_id, threshold in _distinct_pairs(due, "profile_id", "profile__renewal_threshold_percentage"):
        bindings += _update_batched(
            due.filter(profile_id=profile_id),  # None: IS NULL (the profile was deleted)
            batch_size,
            status=DeviceCertificateStatus.RENEWAL_DUE,
            status_reason=renewal_due_reason(threshold),
            status_changed_at=now,
        )
    # The state says what its certificate's binding says (one pass, whatever the number of profiles).
    binding_reason = DeviceCertificate.objects.filter(certificate_id=OuterRef("certificate_id")).values(
        "status_reason"
    )[:1]
    changed = _update_batched(
        DeviceCertificateState.objects.filter(
            state=CertificateState.ISSUED,
            certificate__device_binding__status=DeviceCertificateStatus.RENEWAL_DUE,
            certificate__revoked_at__isnull=True,
            certificate__not_after__gt=now,
        ),
        batch_size,
        state=CertificateState.RENEWAL_DUE,
        reason=Coalesce(Subquery(binding_reason), Value(renewal_due_reason(None))),
        state_changed_at=now,
        updated_at=now,
    )
    return bindings, changed


def _distinct(queryset: QuerySet[Any], field: str) -> list[Any]:
    return list(queryset.order_by().values_list(field, flat=True).distinct())


def _distinct_pairs(queryset: QuerySet[Any], first: str, second: str) -> list[tuple[Any, Any]]:
    return list(queryset.order_by().values_list(first, second).distinct())


def _update_batched(queryset: QuerySet[ModelT], batch_size: int, **values: Any) -> int:
    """UPDATE the rows of ``queryset`` with ``values``, ``batch_size`` rows per statement.

    ``values`` take a row out of ``queryset`` (each pass sets the status its condition excludes), so a row
    is never updated twice; the UPDATE repeats the condition, so a row another run changed meanwhile is
    left alone. The batches walk the primary key upwards, so no batch scans the rows of the ones before.
    """
    total = 0
    after = 0
    while True:
        ids = list(queryset.filter(pk__gt=after).order_by("pk").values_list("pk", flat=True)[:batch_size])
        if not ids:
            return total
        total += queryset.filter(pk__in=ids).update(**values)
        if len(ids) < batch_size:
            return total
        after = ids[-1]
