"""What no longer applies: a SCEP profile unassigned from a device (directly, by a group membership change,
an exclusion, or the device leaving the group), a profile deleted, a profile changed so that its
certificates no longer say what it renders now.

Each revokes the affected certificates, as the reference does, unless the profile says to keep them
(``revoke_on_removal``, ``revoke_on_change``); the device's state for the profile says why. Called
explicitly by the services that make such changes (profiles' assignment and profile services, and the
directory's, through ``directory.observers``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from ca.choices import RevocationCause, RevocationReason
from ca.models import IssuedCertificate, RevocationRequest
from ca.services.revocation_requests import revocation_request_create
from directory.models import Device, DeviceState, Group, GroupKind
from profiles.choices import CertificateState
from profiles.models import DeviceCertificate, DeviceCertificateState, ScepProfile
from profiles.selectors import profile_resolve_for_device

__all__ = [
    "devices_of_group",
    "devices_of_users",
    "devices_reconcile",
    "profile_certificates_revoke",
    "profile_devices_reconcile",
]

logger = logging.getLogger(__name__)

REMOVED_REASON = (
    "the profile no longer applies to this device (unassigned, excluded, or the device left the group)"
)


def devices_of_users(user_ids: Iterable[int]) -> list[Device]:
    return list(Device.objects.filter(primary_user_id__in=list(user_ids)))


def devices_of_group(group: Group) -> list[Device]:
    """The devices a group's assignment reaches: its devices, or the devices of its users."""
    if group.kind == GroupKind.USER:
        return list(Device.objects.filter(primary_user__in=group.users.all()))
    return list(group.devices.all())


def _valid_bindings(query: Q) -> list[DeviceCertificate]:
    return list(
        DeviceCertificate.objects.filter(query, certificate__revoked_at__isnull=True)
        .filter(certificate__not_after__gt=timezone.now())
        .select_related("certificate", "profile")
    )


def _revoke(
    bindings: list[DeviceCertificate], *, cause: RevocationCause, reason: RevocationReason, comment: str
) -> RevocationRequest | None:
    certificates: list[IssuedCertificate] = [binding.certificate for binding in bindings]
    if not certificates:
        return None
    return revocation_request_create(
        certificates=certificates, reason=reason, cause=cause, requested_by="system:profiles", comment=comment
    )


@transaction.atomic
def devices_reconcile(*, devices: Iterable[Device]) -> RevocationRequest | None:
    """For each active device: the SCEP profiles it holds a state or a certificate for but that no longer
    apply to it become "removed", and their valid certificates are revoked (profiles that keep them aside).
    """
    removed: list[DeviceCertificate] = []
    for device in devices:
        if device.state != DeviceState.ACTIVE:
            continue  # retire and wipe revoke everything themselves
        resolution = profile_resolve_for_device(device=device)
        applied = {applied.profile.pk for applied in resolution.scep_profiles}
        applied |= {profile.pk for profile in resolution.not_applicable}
        gone = set(
            DeviceCertificateState.objects.filter(device=device)
            .exclude(profile_id__in=applied)
            .exclude(state__in=[CertificateState.REMOVED, CertificateState.NOT_APPLICABLE])
            .values_list("profile_id", flat=True)
        )
        bindings = _valid_bindings(Q(device=device, profile__isnull=False) & ~Q(profile_id__in=applied))
        gone |= {binding.profile_id for binding in bindings if binding.profile_id is not None}
        if not gone:
            continue
        DeviceCertificateState.objects.filter(device=device, profile_id__in=gone).update(
            state=CertificateState.REMOVED, reason=REMOVED_REASON, state_changed_at=timezone.now()
        )
        removed.extend(b for b in bindings if b.profile is not None and b.profile.revoke_on_removal)
        logger.info("device %s: %s profile(s) no longer apply", device, len(gone))
    return _revoke(
        removed,
        cause=RevocationCause.ASSIGNMENT_REMOVED,
        reason=RevocationReason.AFFILIATION_CHANGED,
        comment="the profile no longer applies to the device",
    )


def profile_devices_reconcile(*, profile: ScepProfile) -> RevocationRequest | None:
    """After a change of a profile's assignments: the devices that hold its certificates or a state for it."""
    device_ids = set(
        DeviceCertificateState.objects.filter(profile=profile).values_list("device_id", flat=True)
    )
    device_ids |= set(DeviceCertificate.objects.filter(profile=profile).values_list("device_id", flat=True))
    return devices_reconcile(devices=Device.objects.filter(pk__in=device_ids))


@transaction.atomic
def profile_certificates_revoke(
    *, profile: ScepProfile, cause: RevocationCause, comment: str
) -> RevocationRequest | None:
    """Revoke every valid certificate issued under ``profile`` (it was deleted, or changed what its
    certificates say) and put the devices' states back to pending: they enroll again at their next check-in.
    """
    bindings = _valid_bindings(Q(profile=profile))
    reason = (
        RevocationReason.SUPERSEDED
        if cause == RevocationCause.PROFILE_CHANGED
        else RevocationReason.CESSATION_OF_OPERATION
    )
    request = _revoke(bindings, cause=cause, reason=reason, comment=comment)
    DeviceCertificateState.objects.filter(profile=profile).exclude(
        state__in=[CertificateState.NOT_APPLICABLE, CertificateState.REMOVED]
    ).update(state=CertificateState.PENDING, reason=comment[:1024], state_changed_at=timezone.now())
    return request
