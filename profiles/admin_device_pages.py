"""What the admin's device page shows, read through the selectors: the device's user and groups, the SCEP
profiles that apply to it with their state and reason, its certificates, and its enrollment timeline.

Reads only. The certificates a retire or wipe would revoke are those :mod:`profiles.services.devices`
revokes: every certificate bound to the device that the CA has not revoked yet.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from django.db.models import QuerySet

from directory.models import Device, Group
from eventlog.models import ConnectorEvent
from eventlog.selectors import device_timeline
from profiles.choices import CertificateState
from profiles.models import DeviceCertificate, DeviceCertificateState, ScepProfile, TrustedRootProfile
from profiles.selectors import Resolution, device_certificate_state_list, profile_resolve_for_device

__all__ = [
    "TIMELINE_SHOWN",
    "DevicePage",
    "GroupMembership",
    "ProfileRow",
    "device_certificates_to_revoke",
    "device_page_read",
]

#: Timeline events on the device page (newest first); the API pages through all of them.
TIMELINE_SHOWN: Final = 50

#: How a state reads on the page: the CSS class of its badge.
_STATE_TONES: Final = {
    CertificateState.ISSUED: "ok",
    CertificateState.RENEWAL_DUE: "warn",
    CertificateState.PENDING: "wait",
    CertificateState.CHALLENGE_ISSUED: "wait",
    CertificateState.ISSUE_PENDING: "wait",
    CertificateState.FAILED: "bad",
    CertificateState.REVOKED: "bad",
    CertificateState.EXPIRED: "bad",
    CertificateState.NOT_APPLICABLE: "none",
    CertificateState.REMOVED: "none",
}


@dataclass(frozen=True)
class GroupMembership:
    group: Group
    #: "device" (the device is a member) or "user" (through its primary user).
    through: str


@dataclass(frozen=True)
class ProfileRow:
    """One SCEP profile for the device: whether it applies, and where the device stands for it."""

    profile: ScepProfile
    #: "applies", "not applicable" (assigned, for another platform) or "not assigned" (a state is left).
    applies: str
    #: Why an applying profile cannot be delivered (no trusted root assigned, no primary user).
    problem: str
    state: DeviceCertificateState | None

    @property
    def state_label(self) -> str:
        if self.state is not None:
            return self.state.get_state_display()
        if self.applies == "not applicable":
            return CertificateState.NOT_APPLICABLE.label
        return "Not checked in yet"

    @property
    def tone(self) -> str:
        if self.state is None:
            return "none" if self.applies == "not applicable" else "wait"
        return _STATE_TONES.get(CertificateState(self.state.state), "none")

    @property
    def reason(self) -> str:
        if self.state is not None and self.state.reason:
            return self.state.reason
        if self.problem:
            return self.problem
        if self.applies == "not applicable":
            return f"assigned for {self.profile.get_platform_display()}"
        return ""


@dataclass(frozen=True)
class DevicePage:
    device: Device
    groups: tuple[GroupMembership, ...]
    trusted_roots: tuple[TrustedRootProfile, ...]
    profiles: tuple[ProfileRow, ...]
    certificates: tuple[DeviceCertificate, ...]
    #: None when the viewer may not read the event log.
    timeline: tuple[ConnectorEvent, ...] | None
    timeline_more: bool


def _groups(device: Device) -> tuple[GroupMembership, ...]:
    rows = [GroupMembership(group, "device") for group in device.member_of.order_by("name")]
    if device.primary_user_id is not None:
        rows += [
            GroupMembership(group, "user")
            for group in Group.objects.filter(users=device.primary_user_id).order_by("name")
        ]
    return tuple(rows)


def _profiles(device: Device, resolution: Resolution) -> tuple[ProfileRow, ...]:
    states = {
        state.profile_id: state
        for state in device_certificate_state_list().filter(device=device).select_related("profile")
    }
    rows = [
        ProfileRow(applied.profile, "applies", applied.problem, states.pop(applied.profile.pk, None))
        for applied in resolution.scep_profiles
    ]
    rows += [
        ProfileRow(profile, "not applicable", "", states.pop(profile.pk, None))
        for profile in resolution.not_applicable
    ]
    # States of profiles that no longer reach the device (unassigned, or the device retired).
    rows += [
        ProfileRow(state.profile, "not assigned", "", state)
        for state in sorted(states.values(), key=lambda s: s.profile.name)
    ]
    return tuple(rows)


def device_certificates_to_revoke(*, device: Device) -> QuerySet[DeviceCertificate]:
    """The certificates a retire or wipe of ``device`` revokes: bound to it and not revoked."""
    return (
        DeviceCertificate.objects.filter(device=device, certificate__revoked_at__isnull=True)
        .select_related("certificate", "profile")
        .order_by("-created_at")
    )


def device_page_read(*, device: Device, with_timeline: bool) -> DevicePage:
    """Everything the device page shows (the timeline only ``with_timeline``: the event log's right)."""
    certificates = tuple(
        DeviceCertificate.objects.filter(device=device)
        .select_related("certificate", "profile")
        .order_by("-created_at")
    )
    timeline: tuple[ConnectorEvent, ...] | None = None
    more = False
    if with_timeline:
        events = list(device_timeline(device_id=device.pk)[: TIMELINE_SHOWN + 1])
        more = len(events) > TIMELINE_SHOWN
        timeline = tuple(events[:TIMELINE_SHOWN])
    resolution = profile_resolve_for_device(device=device)
    return DevicePage(
        device=device,
        groups=_groups(device),
        trusted_roots=resolution.trusted_roots,
        profiles=_profiles(device, resolution),
        certificates=certificates,
        timeline=timeline,
        timeline_more=more,
    )
