"""Announce certificates about to expire and enrollments that failed: once each, per channel, batched.

One run, per configured channel (email, webhook), in one database transaction per message:

1. select what that channel has not announced yet (the oldest first, at most ``MESSAGE_LIMIT`` items);
2. insert a :class:`~notifications.models.SentNotice` claim for each item;
3. send the message;
4. commit. A failed send raises, the transaction rolls back, nothing is recorded, and the items go out
   at the next run; the failure is logged.

The claims stay uncommitted while the message is sent, so a concurrent run that selected the same items
blocks on the unique index when it inserts its claims and fails once the first run commits (or goes on, if
the first run's send failed): two runs never both send a notice. The price is a transaction held open for
at most ``CERTPORTAL_NOTIFY_TIMEOUT`` seconds, which holds no lock other than on its own new rows. If the
process dies between the send and the commit, the notice is sent again at the next run (at least once).

Normally one run sends one message per channel; more than ``MESSAGE_LIMIT`` new items are split into
several messages of that size, the soonest expiry (or the oldest failure) first.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import uuid
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from notifications.choices import NoticeChannel, NoticeKind
from notifications.conf import NotificationsSettings, notifications_settings
from notifications.delivery import email_send, webhook_send
from notifications.exceptions import DeliveryFailed
from notifications.messages import (
    EnrollmentFailure,
    ExpiringCertificate,
    Notice,
    expiry_notice,
    failure_notice,
)
from notifications.models import SentNotice
from notifications.selectors import enrollment_failures_pending, expiring_certificates_pending

__all__ = [
    "MESSAGE_LIMIT",
    "NOTICE_RETENTION",
    "NotifyResult",
    "certificate_expiry_notify",
    "enrollment_failure_notify",
]

logger = logging.getLogger(__name__)

#: Items per message: a first run on a large installation sends several messages instead of one huge one.
MESSAGE_LIMIT = 1000
#: How often a run selects again after a concurrent run claimed some of its items.
CLAIM_ATTEMPTS = 3
#: Records that can no longer matter (the certificate expired, a later change of the device state) are
#: deleted this long after.
NOTICE_RETENTION = dt.timedelta(days=90)

ItemT = TypeVar("ItemT")
Send = Callable[[Notice], None]


@dataclasses.dataclass(frozen=True)
class NotifyResult:
    """Per channel: how many notices went out, or why the channel failed (retried at the next run)."""

    delivered: dict[str, int] = dataclasses.field(default_factory=dict)
    failed: dict[str, str] = dataclasses.field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def certificate_expiry_notify(*, now: dt.datetime | None = None) -> NotifyResult:
    """Announce the valid certificates entering the expiry window (``CERTPORTAL_NOTIFY_EXPIRY_WINDOW_DAYS``),
    once per certificate and window.
    """
    config = notifications_settings()
    now = now or timezone.now()
    window = config.NOTIFY_EXPIRY_WINDOW_DAYS
    SentNotice.objects.filter(
        kind=NoticeKind.CERTIFICATE_EXPIRING, certificate__not_after__lt=now - NOTICE_RETENTION
    ).delete()

    def pending(channel: NoticeChannel) -> list[ExpiringCertificate]:
        return expiring_certificates_pending(
            channel=channel, window_days=window, now=now, limit=MESSAGE_LIMIT
        )

    def claim(channel: NoticeChannel, item: ExpiringCertificate, delivery_id: uuid.UUID) -> SentNotice:
        return SentNotice(
            channel=channel,
            kind=NoticeKind.CERTIFICATE_EXPIRING,
            certificate_id=item.certificate_id,
            window_days=window,
            delivery_id=delivery_id,
            sent_at=now,
        )

    def build(items: Sequence[ExpiringCertificate], delivery_id: uuid.UUID) -> Notice:
        return expiry_notice(items, window_days=window, now=now, delivery_id=delivery_id)

    return _announce(NoticeKind.CERTIFICATE_EXPIRING, _channels(config), pending, claim, build)


def enrollment_failure_notify(*, now: dt.datetime | None = None) -> NotifyResult:
    """Announce the device states that became failed, once per change."""
    config = notifications_settings()
    now = now or timezone.now()
    SentNotice.objects.filter(
        kind=NoticeKind.ENROLLMENT_FAILED,
        sent_at__lt=now - NOTICE_RETENTION,
        failed_at__lt=F("device_state__state_changed_at"),
    ).delete()

    def pending(channel: NoticeChannel) -> list[EnrollmentFailure]:
        return enrollment_failures_pending(channel=channel, limit=MESSAGE_LIMIT)

    def claim(channel: NoticeChannel, item: EnrollmentFailure, delivery_id: uuid.UUID) -> SentNotice:
        return SentNotice(
            channel=channel,
            kind=NoticeKind.ENROLLMENT_FAILED,
            device_state_id=item.device_state_id,
            failed_at=item.failed_at,
            delivery_id=delivery_id,
            sent_at=now,
        )

    def build(items: Sequence[EnrollmentFailure], delivery_id: uuid.UUID) -> Notice:
        return failure_notice(items, now=now, delivery_id=delivery_id)

    return _announce(NoticeKind.ENROLLMENT_FAILED, _channels(config), pending, claim, build)


def _channels(config: NotificationsSettings) -> list[tuple[NoticeChannel, Send]]:
    channels: list[tuple[NoticeChannel, Send]] = []
    if config.NOTIFY_EMAILS:

        def by_email(notice: Notice) -> None:
            email_send(notice=notice, recipients=config.NOTIFY_EMAILS, timeout=config.NOTIFY_TIMEOUT)

        channels.append((NoticeChannel.EMAIL, by_email))
    if config.NOTIFY_WEBHOOK_URL:
        secret = config.NOTIFY_WEBHOOK_SECRET.get_secret_value().encode("utf-8")

        def by_webhook(notice: Notice) -> None:
            webhook_send(
                notice=notice, url=config.NOTIFY_WEBHOOK_URL, secret=secret, timeout=config.NOTIFY_TIMEOUT
            )

        channels.append((NoticeChannel.WEBHOOK, by_webhook))
    return channels


def _announce(
    kind: NoticeKind,
    channels: Sequence[tuple[NoticeChannel, Send]],
    pending: Callable[[NoticeChannel], Sequence[ItemT]],
    claim: Callable[[NoticeChannel, ItemT, uuid.UUID], SentNotice],
    build: Callable[[Sequence[ItemT], uuid.UUID], Notice],
) -> NotifyResult:
    result = NotifyResult()
    for channel, send in channels:
        result.delivered[channel.value] = 0
        attempts = 0
        while True:
            delivery_id = uuid.uuid4()
            try:
                with transaction.atomic():
                    items = pending(channel)
                    if not items:
                        break
                    SentNotice.objects.bulk_create([claim(channel, item, delivery_id) for item in items])
                    send(build(items, delivery_id))
            except IntegrityError:
                attempts += 1
                logger.info(
                    "%s notice by %s: a concurrent run claimed some of these items first; selecting again",
                    kind.value,
                    channel.value,
                )
                if attempts >= CLAIM_ATTEMPTS:
                    break
                continue
            except DeliveryFailed as exc:
                logger.warning(
                    "%s notice by %s not sent (%d item(s); retried at the next run): %s",
                    kind.value,
                    channel.value,
                    len(items),
                    exc,
                )
                result.failed[channel.value] = str(exc)
                break
            result.delivered[channel.value] += len(items)
            logger.info(
                "%s notice by %s: %d item(s), delivery %s", kind.value, channel.value, len(items), delivery_id
            )
            if len(items) < MESSAGE_LIMIT:
                break
    return result
