"""Device certificate states, kept current as check-ins and enrollments happen."""

from __future__ import annotations

from django.utils import timezone

from ca.models import IssuedCertificate
from directory.models import Device
from profiles.choices import CertificateState
from profiles.models import DeviceCertificateState, ScepProfile

__all__ = ["device_state_set"]


def device_state_set(
    *,
    device: Device,
    profile: ScepProfile,
    state: CertificateState,
    reason: str = "",
    diagnostic_code: int | None = None,
    certificate: IssuedCertificate | None = None,
    keep_certificate: bool = True,
) -> DeviceCertificateState:
    """Record where ``device`` stands for ``profile``; the certificate link is kept unless replaced."""
    now = timezone.now()
    record, created = DeviceCertificateState.objects.get_or_create(
        device=device,
        profile=profile,
        defaults={
            "state": state,
            "reason": reason[:1024],
            "diagnostic_code": diagnostic_code,
            "certificate": certificate,
            "state_changed_at": now,
        },
    )
    if created:
        return record
    changed = record.state != state or record.reason != reason[:1024]
    record.state = state
    record.reason = reason[:1024]
    record.diagnostic_code = diagnostic_code
    if certificate is not None or not keep_certificate:
        record.certificate = certificate
    if changed:
        record.state_changed_at = now
    record.save()
    return record
