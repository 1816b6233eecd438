"""Retire and wipe: the device leaves management and its certificates are revoked.

The device's state change and the revocation request are written in one database transaction, so the
request cannot be lost; the CA worker carries it out after commit (the answer does not wait for it), and
the device certificate states follow when it is done (``profiles.certificate_observer``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.db import transaction

from ca.choices import RevocationCause, RevocationReason
from ca.models import RevocationRequest
from ca.services.revocation_requests import revocation_request_create
from directory.models import Device, DeviceState
from profiles.choices import CertificateState
from profiles.models import DeviceCertificate, DeviceCertificateState

__all__ = ["DeviceDeparture", "device_retire", "device_wipe"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeviceDeparture:
    device: Device
    #: The request revoking the device's certificates; None when it held no valid certificate.
    revocation_request: RevocationRequest | None


@transaction.atomic
def _leave(device: Device, state: DeviceState, cause: RevocationCause, requested_by: str) -> DeviceDeparture:
    device = Device.objects.select_for_update().get(pk=device.pk)
    device.state = state
    device.checkin_token_digest = ""
    device.save(update_fields=["state", "checkin_token_digest", "updated_at"])
    certificates = [
        binding.certificate
        for binding in DeviceCertificate.objects.filter(
            device=device, certificate__revoked_at__isnull=True
        ).select_related("certificate")
    ]
    request = (
        revocation_request_create(
            certificates=certificates,
            reason=RevocationReason.CESSATION_OF_OPERATION,
            cause=cause,
            requested_by=requested_by,
            comment=f"device {device.external_id} {state.label.lower()}",
        )
        if certificates
        else None
    )
    # The states of the certificates being revoked say "revoked" once the CA has done it; the others say
    # that the device left.
    DeviceCertificateState.objects.filter(device=device).exclude(certificate__in=certificates).exclude(
        state=CertificateState.REVOKED
    ).update(state=CertificateState.REMOVED, reason=f"device {state.label.lower()}")
    logger.info("device %s %s; %s certificate(s) to revoke", device, state, len(certificates))
    return DeviceDeparture(device=device, revocation_request=request)


def device_retire(*, device: Device, requested_by: str = "system") -> DeviceDeparture:
    """Retire: the device leaves management; its certificates are revoked (cessationOfOperation)."""
    return _leave(device, DeviceState.RETIRED, RevocationCause.DEVICE_RETIRED, requested_by)


def device_wipe(*, device: Device, requested_by: str = "system") -> DeviceDeparture:
    """Wipe: as retire, for a device reset to factory settings."""
    return _leave(device, DeviceState.WIPED, RevocationCause.DEVICE_WIPED, requested_by)
