"""Retire and wipe: the device leaves management and its certificates are revoked on the CA worker."""

from __future__ import annotations

import logging

from django.db import transaction

from ca.choices import RevocationReason
from ca.exceptions import CertificateAlreadyRevoked
from ca.services.submission import certificate_revoke_submit
from directory.models import Device, DeviceState
from profiles.choices import CertificateState
from profiles.models import DeviceCertificate, DeviceCertificateState

__all__ = ["device_retire", "device_wipe"]

logger = logging.getLogger(__name__)

#: How long retire/wipe waits for each revocation on the CA worker before moving on (it stays queued).
REVOKE_WAIT_SECONDS = 5.0


def _leave(device: Device, state: DeviceState) -> Device:
    with transaction.atomic():
        device = Device.objects.select_for_update().get(pk=device.pk)
        device.state = state
        device.checkin_token_digest = ""
        device.save(update_fields=["state", "checkin_token_digest", "updated_at"])
    revoked = 0
    bindings = DeviceCertificate.objects.filter(
        device=device, certificate__revoked_at__isnull=True
    ).select_related("certificate")
    for binding in bindings:
        try:
            certificate = certificate_revoke_submit(
                certificate=binding.certificate,
                reason=RevocationReason.CESSATION_OF_OPERATION,
                timeout=REVOKE_WAIT_SECONDS,
            )
        except CertificateAlreadyRevoked:
            continue
        revoked += int(certificate.revoked_at is not None)
    DeviceCertificateState.objects.filter(device=device).update(
        state=CertificateState.REVOKED, reason=f"device {state.label.lower()}"
    )
    logger.info("device %s %s; %s certificate(s) revoked", device, state, revoked)
    return device


def device_retire(*, device: Device) -> Device:
    """Retire: the device leaves management; its certificates are revoked (cessationOfOperation)."""
    return _leave(device, DeviceState.RETIRED)


def device_wipe(*, device: Device) -> Device:
    """Wipe: as retire, for a device reset to factory settings."""
    return _leave(device, DeviceState.WIPED)
