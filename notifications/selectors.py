"""What is still to be announced on a channel: the oldest first, at most ``limit`` items."""

from __future__ import annotations

import datetime as dt

from django.db.models import Exists, OuterRef

from ca.models import IssuedCertificate
from notifications.choices import NoticeChannel, NoticeKind
from notifications.messages import EnrollmentFailure, ExpiringCertificate
from notifications.models import SentNotice
from profiles.choices import CertificateState, DeviceCertificateStatus, RevokeStatus
from profiles.models import DeviceCertificateState

__all__ = ["enrollment_failures_pending", "expiring_certificates_pending"]


def expiring_certificates_pending(
    *, channel: NoticeChannel, window_days: int, now: dt.datetime, limit: int
) -> list[ExpiringCertificate]:
    """Valid certificates whose notAfter is within ``window_days`` and that were not announced on
    ``channel`` for this window. A device's certificate that was superseded by its renewal, or whose
    revocation is under way, is left out: nobody has to act on it.
    """
    announced = SentNotice.objects.filter(
        channel=channel,
        kind=NoticeKind.CERTIFICATE_EXPIRING,
        certificate=OuterRef("pk"),
        window_days=window_days,
    )
    rows = (
        IssuedCertificate.objects.filter(
            revoked_at__isnull=True,
            not_after__gt=now,
            not_after__lte=now + dt.timedelta(days=window_days),
        )
        .exclude(device_binding__status=DeviceCertificateStatus.SUPERSEDED)
        .exclude(device_binding__revoke_status=RevokeStatus.PENDING)
        .filter(~Exists(announced))
        .order_by("not_after", "pk")
        .values_list(
            "pk",
            "serial",
            "subject",
            "authority__slug",
            "template__name",
            "not_after",
            "device_binding__device__name",
            "device_binding__device__external_id",
            "device_binding__profile__name",
        )[:limit]
    )
    return [
        ExpiringCertificate(
            certificate_id=pk,
            serial=serial,
            subject=subject,
            authority=authority,
            template=template,
            not_after=not_after,
            device=device or "",
            device_external_id=device_external_id or "",
            profile=profile or "",
        )
        for pk, serial, subject, authority, template, not_after, device, device_external_id, profile in rows
    ]


def enrollment_failures_pending(*, channel: NoticeChannel, limit: int) -> list[EnrollmentFailure]:
    """Device states that say failed and whose failure (its ``state_changed_at``) was not announced on
    ``channel``.
    """
    announced = SentNotice.objects.filter(
        channel=channel,
        kind=NoticeKind.ENROLLMENT_FAILED,
        device_state=OuterRef("pk"),
        failed_at=OuterRef("state_changed_at"),
    )
    rows = (
        DeviceCertificateState.objects.filter(state=CertificateState.FAILED)
        .filter(~Exists(announced))
        .order_by("state_changed_at", "pk")
        .values_list(
            "pk",
            "device__name",
            "device__external_id",
            "device__platform",
            "profile__name",
            "reason",
            "diagnostic_code",
            "state_changed_at",
        )[:limit]
    )
    return [
        EnrollmentFailure(
            device_state_id=pk,
            device=device,
            device_external_id=external_id,
            platform=platform,
            profile=profile,
            reason=reason,
            diagnostic_code=diagnostic_code,
            failed_at=failed_at,
        )
        for pk, device, external_id, platform, profile, reason, diagnostic_code, failed_at in rows
    ]
