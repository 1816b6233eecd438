"""Choices of the notifications app."""

from __future__ import annotations

from django.db import models

__all__ = ["NoticeChannel", "NoticeKind"]


class NoticeKind(models.TextChoices):
    """What a notice is about; the value is the webhook's ``event``."""

    CERTIFICATE_EXPIRING = "certificate_expiring", "Certificate expiring"
    ENROLLMENT_FAILED = "enrollment_failed", "Enrollment failed"


class NoticeChannel(models.TextChoices):
    """How a notice is delivered; each channel keeps its own record, so a failure of one is retried alone."""

    EMAIL = "email", "Email"
    WEBHOOK = "webhook", "Webhook"
