"""What has been announced, per channel: the claim that stops a notice from going out twice."""

from __future__ import annotations

from django.db import models

from ca.models import IssuedCertificate
from notifications.choices import NoticeChannel, NoticeKind
from profiles.models import DeviceCertificateState

__all__ = ["SentNotice"]


class SentNotice(models.Model):
    """One thing announced on one channel: a certificate entering the expiry window (once per window),
    or one failure of a device's enrollment (once per change of its state to failed).

    A run inserts these rows in the transaction that sends the message and commits them only once the
    message went out; the unique constraints make a concurrent run's insert wait, then fail, so it cannot
    send the same notice. Deleting a row sends the notice again at the next run.
    """

    channel = models.CharField(max_length=16, choices=NoticeChannel.choices)
    kind = models.CharField(max_length=32, choices=NoticeKind.choices)
    certificate = models.ForeignKey(
        IssuedCertificate, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    window_days = models.PositiveIntegerField(null=True, blank=True)
    device_state = models.ForeignKey(
        DeviceCertificateState, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    #: The failure's ``state_changed_at``: a later failure of the same device state is a new notice.
    failed_at = models.DateTimeField(null=True, blank=True)
    #: The message (email or webhook request) that carried it; the webhook's ``id``.
    delivery_id = models.UUIDField(db_index=True)
    sent_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ("-sent_at", "-id")
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "certificate", "window_days"],
                condition=models.Q(kind=NoticeKind.CERTIFICATE_EXPIRING),
                name="notifications_expiry_notice_once_per_window",
            ),
            models.UniqueConstraint(
                fields=["channel", "device_state", "failed_at"],
                condition=models.Q(kind=NoticeKind.ENROLLMENT_FAILED),
                name="notifications_failure_notice_once_per_change",
            ),
            models.CheckConstraint(
                condition=models.Q(
                    kind=NoticeKind.CERTIFICATE_EXPIRING,
                    certificate__isnull=False,
                    window_days__isnull=False,
                    device_state__isnull=True,
                    failed_at__isnull=True,
                )
                | models.Q(
                    kind=NoticeKind.ENROLLMENT_FAILED,
                    certificate__isnull=True,
                    window_days__isnull=True,
                    device_state__isnull=False,
                    failed_at__isnull=False,
                ),
                name="notifications_notice_names_its_subject",
            ),
        ]

    def __str__(self) -> str:
        if self.kind == NoticeKind.CERTIFICATE_EXPIRING:
            what = f"certificate {self.certificate_id} ({self.window_days} days)"
        else:
            what = f"device state {self.device_state_id} failed at {self.failed_at:%Y-%m-%d %H:%M}"
        return f"{self.get_kind_display()} by {self.get_channel_display()}: {what}"
