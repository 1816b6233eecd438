"""Device certificate states, kept current as check-ins and enrollments happen."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from ca.choices import RevocationCause, RevocationReason
from ca.models import IssuedCertificate
from ca.services.revocation_requests import revocation_request_create
from directory.models import Device
from profiles.choices import CertificateState, DeviceCertificateStatus
from profiles.models import DeviceCertificate, DeviceCertificateState, ScepProfile

__all__ = [
    "device_enrollment_failed",
    "device_enrollment_succeeded",
    "device_state_set",
    "profile_renewal_threshold_apply",
    "renewal_due_at",
]

#: Bindings re-timed per UPDATE when a profile's renewal threshold changes.
_RETIME_BATCH = 2000


def renewal_due_at(certificate: IssuedCertificate, threshold_percentage: int) -> dt.datetime:
    """When less than ``threshold_percentage`` % of the certificate's lifetime remains (Intune's renewal
    threshold): the device is asked to renew from then on.
    """
    lifetime = certificate.not_after - certificate.not_before
    return certificate.not_after - lifetime * (threshold_percentage / 100)


def profile_renewal_threshold_apply(*, profile: ScepProfile) -> int:
    """The profile's renewal threshold changed: re-time its certificates' renewal (the sweep reads
    ``renewal_due_at``). A certificate already marked renewal due stays so. How many were re-timed.
    """
    bindings = (
        DeviceCertificate.objects.filter(profile=profile, status=DeviceCertificateStatus.ISSUED)
        .select_related("certificate")
        .only("pk", "renewal_due_at", "certificate__not_before", "certificate__not_after")
        .order_by("pk")
    )
    changed: list[DeviceCertificate] = []
    for binding in bindings.iterator(chunk_size=_RETIME_BATCH):
        due = renewal_due_at(binding.certificate, profile.renewal_threshold_percentage)
        if binding.renewal_due_at != due:
            binding.renewal_due_at = due
            changed.append(binding)
    DeviceCertificate.objects.bulk_update(changed, ["renewal_due_at"], batch_size=_RETIME_BATCH)
    return len(changed)


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
    binding, _ = DeviceCertificate.objects.get_or_create(
        certificate=certificate,
        defaults={
            "device": device,
            "profile": profile,
            "status_changed_at": now,
            "renewal_due_at": renewal_due_at(certificate, profile.renewal_threshold_percentage),
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
