"""What a notice says: its items as plain data, and one message (email text and webhook JSON) per batch."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

from notifications.choices import NoticeKind

__all__ = ["EnrollmentFailure", "ExpiringCertificate", "Notice", "expiry_notice", "failure_notice"]


def _when(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


@dataclasses.dataclass(frozen=True)
class ExpiringCertificate:
    certificate_id: int
    serial: str
    subject: str
    authority: str
    template: str
    not_after: dt.datetime
    #: The device and profile it was issued to (empty when it is not a device's certificate).
    device: str = ""
    device_external_id: str = ""
    profile: str = ""

    def line(self) -> str:
        text = (
            f"{_when(self.not_after)}  {self.subject or '(no subject)'}  serial {self.serial}  "
            f"CA {self.authority}, template {self.template}"
        )
        if self.device:
            text += f"\n    device {self.device} ({self.device_external_id}), profile {self.profile or '-'}"
        return text

    def as_json(self) -> dict[str, Any]:
        return {
            "certificate_id": self.certificate_id,
            "serial": self.serial,
            "subject": self.subject,
            "authority": self.authority,
            "template": self.template,
            "not_after": self.not_after.isoformat(),
            "device": self.device_external_id or None,
            "device_name": self.device or None,
            "profile": self.profile or None,
        }


@dataclasses.dataclass(frozen=True)
class EnrollmentFailure:
    device_state_id: int
    device: str
    device_external_id: str
    platform: str
    profile: str
    reason: str
    diagnostic_code: int | None
    failed_at: dt.datetime

    def line(self) -> str:
        code = f" ({self.diagnostic_code:#010x})" if self.diagnostic_code is not None else ""
        return (
            f"{_when(self.failed_at)}  {self.device} ({self.device_external_id}, {self.platform})  "
            f"profile {self.profile}: {self.reason or 'no reason recorded'}{code}"
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "device_state_id": self.device_state_id,
            "device": self.device_external_id,
            "device_name": self.device,
            "platform": self.platform,
            "profile": self.profile,
            "reason": self.reason,
            "diagnostic_code": self.diagnostic_code,
            "failed_at": self.failed_at.isoformat(),
        }


@dataclasses.dataclass(frozen=True)
class Notice:
    """One message: the email's subject and text, and the webhook's JSON body."""

    delivery_id: uuid.UUID
    kind: NoticeKind
    subject: str
    text: str
    payload: dict[str, Any]


def _plural(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


def expiry_notice(
    items: Sequence[ExpiringCertificate], *, window_days: int, now: dt.datetime, delivery_id: uuid.UUID
) -> Notice:
    subject = (
        f"certportal: {_plural(len(items), 'certificate expires', 'certificates expire')} "
        f"within {window_days} days"
    )
    text = "\n".join(
        [
            f"These certificates expire within {window_days} days (each is announced once):",
            "",
            *(item.line() for item in items),
            "",
            "Devices renew at check-in once their profile's renewal threshold is reached; a certificate "
            "listed without a device was issued through the API or is an RA certificate.",
        ]
    )
    payload = {
        "id": str(delivery_id),
        "event": NoticeKind.CERTIFICATE_EXPIRING.value,
        "created": now.isoformat(),
        "window_days": window_days,
        "certificates": [item.as_json() for item in items],
    }
    return Notice(delivery_id, NoticeKind.CERTIFICATE_EXPIRING, subject, text, payload)


def failure_notice(items: Sequence[EnrollmentFailure], *, now: dt.datetime, delivery_id: uuid.UUID) -> Notice:
    subject = f"certportal: {_plural(len(items), 'enrollment failed', 'enrollments failed')}"
    text = "\n".join(
        [
            "These devices could not get their certificate (each failure is announced once):",
            "",
            *(item.line() for item in items),
            "",
            "The device certificate states (admin, or GET /api/v1/device-certificate-states/?state=failed) "
            "show where each device stands.",
        ]
    )
    payload = {
        "id": str(delivery_id),
        "event": NoticeKind.ENROLLMENT_FAILED.value,
        "created": now.isoformat(),
        "failures": [item.as_json() for item in items],
    }
    return Notice(delivery_id, NoticeKind.ENROLLMENT_FAILED, subject, text, payload)
