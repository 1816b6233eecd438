"""Reads of the profile editor and the per-profile device status page (no writes).

- which devices a set of assignments reaches (the same rules as :func:`profiles.selectors.
  profile_resolve_for_device`: a device's groups, its primary user's groups, all devices, all users through
  the primary user; an exclusion wins; retired and wiped devices are reached by nothing);
- the users and devices the live preview can render for;
- a profile's device status rows (Intune's "Device status"): each device's state for the profile, and the
  devices in scope that have not checked in since it was assigned.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

from django.db.models import F, Q, QuerySet

from directory.models import Device, DeviceState, DirectoryUser
from profiles.choices import AssignmentIntent, AssignmentTarget, CertificateState
from profiles.models import DeviceCertificateState, ProfileAssignment, ScepProfile, TrustedRootProfile

__all__ = [
    "STATUS_GROUPS",
    "AssignmentRow",
    "DeviceStatusRow",
    "ScopeSummary",
    "assignment_rows_of",
    "assignment_scope_summary",
    "device_status_rows",
    "preview_devices",
    "preview_users",
]

#: The status page's groups of states, in the order its tiles show them (Intune's device status words).
STATUS_GROUPS: Final[dict[str, tuple[str, tuple[str, ...]]]] = {
    "succeeded": ("Succeeded", (CertificateState.ISSUED,)),
    "pending": (
        "Pending",
        (CertificateState.PENDING, CertificateState.CHALLENGE_ISSUED, CertificateState.ISSUE_PENDING),
    ),
    "failed": ("Failed", (CertificateState.FAILED,)),
    "renewal_due": ("Renewal due", (CertificateState.RENEWAL_DUE,)),
    "revoked": ("Revoked", (CertificateState.REVOKED,)),
    "expired": ("Expired", (CertificateState.EXPIRED,)),
    "not_applicable": ("Not applicable", (CertificateState.NOT_APPLICABLE,)),
    "removed": ("Removed", (CertificateState.REMOVED,)),
}
_GROUP_OF_STATE: Final = {
    state: group for group, (_label, states) in STATUS_GROUPS.items() for state in states
}
NOT_CHECKED_IN_REASON: Final = "in scope; the device has not checked in since the profile was assigned"


@dataclass(frozen=True)
class AssignmentRow:
    intent: str
    target: str
    group_id: int | None = None


@dataclass(frozen=True)
class ScopeSummary:
    #: Active devices of the profile's platform the assignments reach: the profile applies to them.
    in_scope: int
    #: Reached, but of another platform (Intune: not applicable).
    other_platform: int
    #: Reached by an include, taken out by an exclusion.
    excluded: int


def assignment_rows_of(profile: ScepProfile | TrustedRootProfile) -> list[AssignmentRow]:
    field = "scep_profile" if isinstance(profile, ScepProfile) else "trusted_root_profile"
    return [
        AssignmentRow(intent=row.intent, target=row.target, group_id=row.group_id)
        for row in ProfileAssignment.objects.filter(**{field: profile})
    ]


def _reach(rows: Iterable[AssignmentRow]) -> Q | None:
    condition: Q | None = None
    for row in rows:
        if row.target == AssignmentTarget.ALL_DEVICES:
            part = Q(pk__isnull=False)
        elif row.target == AssignmentTarget.ALL_USERS:
            part = Q(primary_user__isnull=False)
        elif row.group_id is not None:
            part = Q(member_of=row.group_id) | Q(primary_user__member_of=row.group_id)
        else:
            continue
        condition = part if condition is None else condition | part
    return condition


def _reached(rows: Sequence[AssignmentRow]) -> tuple[QuerySet[Device], QuerySet[Device]]:
    """(devices reached by the includes, those of them the exclusions take out)."""
    active = Device.objects.filter(state=DeviceState.ACTIVE)
    included = _reach(row for row in rows if row.intent == AssignmentIntent.INCLUDE)
    if included is None:
        return Device.objects.none(), Device.objects.none()
    reached = active.filter(pk__in=active.filter(included).values("pk"))
    excluded = _reach(row for row in rows if row.intent == AssignmentIntent.EXCLUDE)
    if excluded is None:
        return reached, Device.objects.none()
    taken_out = reached.filter(pk__in=active.filter(excluded).values("pk"))
    return reached.exclude(pk__in=taken_out.values("pk")), taken_out


def assignment_scope_summary(*, platform: str, rows: Sequence[AssignmentRow]) -> ScopeSummary:
    """How many devices a profile for ``platform`` with these assignments applies to."""
    reached, taken_out = _reached(rows)
    return ScopeSummary(
        in_scope=reached.filter(platform=platform).count(),
        other_platform=reached.exclude(platform=platform).count(),
        excluded=taken_out.count(),
    )


def preview_devices(*, platform: str, limit: int = 200) -> list[Device]:
    """Devices to preview with: the platform's active ones first (with a primary user), then the others."""
    devices = Device.objects.filter(state=DeviceState.ACTIVE).select_related("primary_user")
    first = (
        list(
            devices.filter(platform=platform).order_by(F("primary_user").asc(nulls_last=True), "name")[:limit]
        )
        if platform
        else []
    )
    rest = list(
        devices.exclude(pk__in=[device.pk for device in first]).order_by("name")[: max(0, limit - len(first))]
    )
    return first + rest


def preview_users(*, limit: int = 200) -> list[DirectoryUser]:
    return list(DirectoryUser.objects.filter(enabled=True).order_by("user_principal_name")[:limit])


@dataclass(frozen=True)
class DeviceStatusRow:
    device: Device
    state: str
    state_label: str
    group: str
    reason: str
    diagnostic_code: int | None
    state_changed_at: dt.datetime | None
    certificate_serial: str
    certificate_id: int | None
    certificate_not_after: dt.datetime | None


def _status_row(state: DeviceCertificateState) -> DeviceStatusRow:
    certificate = state.certificate
    return DeviceStatusRow(
        device=state.device,
        state=state.state,
        state_label=state.get_state_display(),
        group=_GROUP_OF_STATE.get(state.state, ""),
        reason=state.reason,
        diagnostic_code=state.diagnostic_code,
        state_changed_at=state.state_changed_at,
        certificate_serial=certificate.serial if certificate is not None else "",
        certificate_id=certificate.pk if certificate is not None else None,
        certificate_not_after=certificate.not_after if certificate is not None else None,
    )


def device_status_rows(*, profile: ScepProfile, search: str = "") -> list[DeviceStatusRow]:
    """Every device's state for ``profile``, then the devices in scope with no state yet ("pending, not
    checked in"), ordered by device name; ``search`` matches the device's name, Intune device ID, serial
    number and its user's UPN.
    """
    states = DeviceCertificateState.objects.filter(profile=profile).select_related(
        "device", "device__primary_user", "certificate"
    )
    reached, _taken_out = _reached(assignment_rows_of(profile))
    waiting = reached.filter(platform=profile.platform).exclude(certificate_states__profile=profile)
    waiting = waiting.select_related("primary_user")
    if search:
        match = (
            Q(name__icontains=search)
            | Q(external_id__icontains=search)
            | Q(serial_number__icontains=search)
            | Q(primary_user__user_principal_name__icontains=search)
        )
        states = states.filter(
            Q(device__name__icontains=search)
            | Q(device__external_id__icontains=search)
            | Q(device__serial_number__icontains=search)
            | Q(device__primary_user__user_principal_name__icontains=search)
        )
        waiting = waiting.filter(match)
    rows = [_status_row(state) for state in states]
    rows += [
        DeviceStatusRow(
            device=device,
            state="",
            state_label="Pending (not checked in)",
            group="pending",
            reason=NOT_CHECKED_IN_REASON,
            diagnostic_code=None,
            state_changed_at=None,
            certificate_serial="",
            certificate_id=None,
            certificate_not_after=None,
        )
        for device in waiting
    ]
    rows.sort(key=lambda row: (row.device.name.lower(), row.device.pk))
    return rows
