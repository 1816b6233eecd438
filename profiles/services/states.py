"""Device certificate states, kept current as check-ins and enrollments happen."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from ca.choices import RevocationCause, RevocationReason
from ca.models import IssuedCertificate
from ca.services.revocation_requests import revocation_request_create
from directory.models import Device
from profiles.choices import CertificateState, DeviceCertificateStatus
from profiles.models import DeviceCertificate, DeviceCertificateState, ScepProfile

__all__ = ["device_enrollment_failed", "device_enrollment_succeeded", "device_state_set"]


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


@transaction.atomic
def device_enrollment_succeeded(
    *, device: Device, profile: ScepProfile, certificate: IssuedCertificate, reason: str = ""
) -> DeviceCertificateState:
    """A certificate was issued to ``device`` under ``profile``: bind it to the device and mark it issued.

    The device's earlier valid certificates for the profile are superseded by it, and revoked (reason
    superseded) when the profile says so.
    """
    now = timezone.now()
    lifetime = certificate.not_after - certificate.not_before
    binding, _ = DeviceCertificate.objects.get_or_create(
        certificate=certificate,
        defaults={
            "device": device,
            "profile": profile,
            "status_changed_at": now,
            "renewal_due_at": certificate.not_after - lifetime * (profile.renewal_threshold_percentage / 100),
        },
    )
    earlier = list(
        DeviceCertificate.objects.filter(
            device=device,
            profile=profile,
            certificate__revoked_at__isnull=True,
            certificate__not_after__gt=now,
        )
        .exclude(pk=binding.pk)
        .exclude(status=DeviceCertificateStatus.SUPERSEDED)
        .select_related("certificate")
    )
    if earlier:
        DeviceCertificate.objects.filter(pk__in=[b.pk for b in earlier]).update(
            status=DeviceCertificateStatus.SUPERSEDED,
            status_reason=f"superseded by certificate {certificate.serial}",
            status_changed_at=now,
            superseded_by=binding,
        )
        if profile.revoke_superseded:
            revocation_request_create(
                certificates=[b.certificate for b in earlier],
                reason=RevocationReason.SUPERSEDED,
                cause=RevocationCause.SUPERSEDED,
                requested_by="system:profiles",
                comment=f"superseded by certificate {certificate.serial} on {device.external_id}",
            )
    return device_state_set(
        device=device, profile=profile, state=CertificateState.ISSUED, certificate=certificate, reason=reason
    )


def device_enrollment_failed(*, device: Device, profile: ScepProfile, reason: str) -> DeviceCertificateState:
    """The enrollment under ``profile`` failed (refused by the CA, denied by a certificate manager)."""
    return device_state_set(device=device, profile=profile, state=CertificateState.FAILED, reason=reason)
