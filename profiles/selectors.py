"""Which profiles apply to a device (Intune's assignment rules), and the values its variables read."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db.models import Q, QuerySet

from directory.models import Device, DeviceState, Group
from profiles.choices import AssignmentIntent, AssignmentTarget
from profiles.models import (
    DeviceCertificateState,
    ProfileAssignment,
    ResourceProfile,
    ScepProfile,
    TrustedRootProfile,
)
from profiles.naming.variables import CertificateType, RenderContext

__all__ = [
    "AppliedResourceProfile",
    "AppliedScepProfile",
    "Resolution",
    "device_certificate_state_list",
    "device_render_context",
    "profile_resolve_for_device",
]


@dataclass(frozen=True)
class AppliedScepProfile:
    profile: ScepProfile
    #: Empty when the profile can be delivered; else why it fails on this device.
    problem: str = ""


@dataclass(frozen=True)
class AppliedResourceProfile:
    profile: ResourceProfile
    #: Empty when the profile can be delivered; else why it fails (the reference's dependency rule).
    problem: str = ""


@dataclass(frozen=True)
class Resolution:
    trusted_roots: tuple[TrustedRootProfile, ...] = ()
    scep_profiles: tuple[AppliedScepProfile, ...] = ()
    #: SCEP and PKCS profiles assigned to the device's groups but for another platform ("not applicable").
    not_applicable: tuple[ScepProfile, ...] = field(default_factory=tuple)
    #: PKCS certificate profiles (the CA generates the key), with the same rules as the SCEP ones.
    pkcs_profiles: tuple[AppliedScepProfile, ...] = ()
    resource_profiles: tuple[AppliedResourceProfile, ...] = ()


def _targets(device: Device) -> Q:
    """Assignment rows that reach ``device``: its device groups, its primary user's groups, all devices,
    and all users (through the primary user).

    The groups are the device's (and its user's) memberships, looked up by the member (a subquery on the
    membership table's member index): joining each assigned group to all its members instead read every
    membership of every assigned group, 100,000 rows for 1,000 groups of 100 devices, three times per
    check-in (docs/benchmarks-admin.md).
    """
    groups = Group.devices.through.objects.filter(device_id=device.pk).values("group_id")
    condition = Q(target=AssignmentTarget.ALL_DEVICES) | Q(target=AssignmentTarget.GROUP, group_id__in=groups)
    if device.primary_user_id is not None:
        user_groups = Group.users.through.objects.filter(directoryuser_id=device.primary_user_id).values(
            "group_id"
        )
        condition |= Q(target=AssignmentTarget.ALL_USERS) | Q(
            target=AssignmentTarget.GROUP, group_id__in=user_groups
        )
    return condition


def _assigned(assignments: QuerySet[ProfileAssignment], device: Device, field_name: str) -> set[int]:
    """Profile ids included for ``device`` and not excluded (exclusion wins)."""
    rows = assignments.filter(_targets(device)).values_list(field_name, "intent")
    included = {pk for pk, intent in rows if intent == AssignmentIntent.INCLUDE}
    excluded = {pk for pk, intent in rows if intent == AssignmentIntent.EXCLUDE}
    return included - excluded


def profile_resolve_for_device(*, device: Device) -> Resolution:
    """The trusted-root and SCEP profiles that apply to ``device``, with the SCEP ones that cannot work."""
    if device.state != DeviceState.ACTIVE:
        return Resolution()
    root_ids = _assigned(
        ProfileAssignment.objects.filter(trusted_root_profile__isnull=False), device, "trusted_root_profile"
    )
    scep_ids = _assigned(ProfileAssignment.objects.filter(scep_profile__isnull=False), device, "scep_profile")
    roots = tuple(
        TrustedRootProfile.objects.filter(pk__in=root_ids, platform=device.platform).order_by("name")
    )
    root_pks = {root.pk for root in roots}
    applied: list[AppliedScepProfile] = []
    pkcs: list[AppliedScepProfile] = []
    not_applicable: list[ScepProfile] = []
    profiles = (
        ScepProfile.objects.filter(pk__in=scep_ids)
        .select_related("root_profile", "authority", "template")
        .order_by("name")
    )
    for profile in profiles:
        if profile.platform != device.platform:
            not_applicable.append(profile)
            continue
        problem = ""
        if profile.root_profile_id not in root_pks:
            problem = (
                f"trusted certificate profile {profile.root_profile.name!r} is not assigned to this device; "
                "assign it with the SCEP profile"
            )
        elif profile.certificate_type == CertificateType.USER and device.primary_user_id is None:
            problem = "a user certificate needs a device with a primary user"
        (pkcs if profile.is_pkcs else applied).append(AppliedScepProfile(profile=profile, problem=problem))
    return Resolution(
        trusted_roots=roots,
        scep_profiles=tuple(applied),
        not_applicable=tuple(not_applicable),
        pkcs_profiles=tuple(pkcs),
        resource_profiles=_resource_profiles(device, roots, [*applied, *pkcs]),
    )


def _resource_profiles(
    device: Device, roots: tuple[TrustedRootProfile, ...], certificates: list[AppliedScepProfile]
) -> tuple[AppliedResourceProfile, ...]:
    """The resource profiles that reach ``device``, each failing unless its identity profile (and the
    trusted root of its server) are assigned to the device too and can be delivered (the reference:
    "you also need to assign the Trusted Root CA and the SCEP or PKCS profile").
    """
    ids = _assigned(
        ProfileAssignment.objects.filter(resource_profile__isnull=False), device, "resource_profile"
    )
    deliverable = {applied.profile.pk: applied.problem for applied in certificates}
    root_pks = {root.pk for root in roots}
    resolved: list[AppliedResourceProfile] = []
    queryset = (
        ResourceProfile.objects.filter(pk__in=ids, platform=device.platform)
        .select_related("identity_profile", "server_root_profile")
        .order_by("name")
    )
    for profile in queryset:
        identity = profile.identity_profile
        kind = "PKCS" if identity.is_pkcs else "SCEP"
        problem = ""
        if identity.pk not in deliverable:
            problem = (
                f"its {kind} certificate profile {identity.name!r} is not assigned to this device; assign it "
                "with the resource profile"
            )
        elif deliverable[identity.pk]:
            problem = f"its {kind} certificate profile {identity.name!r} fails: {deliverable[identity.pk]}"
        elif profile.server_root_profile_id is not None and profile.server_root_profile_id not in root_pks:
            root = profile.server_root_profile
            problem = (
                f"the trusted certificate profile of its server, {root.name if root else '?'!r}, is not "
                "assigned to this device; assign it with the resource profile"
            )
        resolved.append(AppliedResourceProfile(profile=profile, problem=problem))
    return tuple(resolved)


def device_render_context(*, device: Device, certificate_type: str = CertificateType.USER) -> RenderContext:
    """The variable values for ``device`` (and its primary user, for a user certificate)."""
    user = device.primary_user if certificate_type == CertificateType.USER else None
    return RenderContext(
        user_name=(user.user_name or user.user_principal_name) if user else None,
        email=user.email if user else None,
        upn=user.user_principal_name if user else None,
        on_prem_distinguished_name=user.on_premises_distinguished_name if user else None,
        on_prem_sam_account_name=user.on_premises_sam_account_name if user else None,
        on_prem_sid=user.on_premises_security_identifier if user else device.security_identifier,
        on_prem_upn=user.on_premises_user_principal_name if user else None,
        department=user.department if user else None,
        device_id=device.external_id,
        aad_device_id=device.aad_device_id,
        serial_number=device.serial_number,
        imei=device.imei,
        meid=device.meid,
        wifi_mac=device.wifi_mac,
        device_name=device.name,
        fqdn=device.fqdn,
        platform=device.platform,
        domain_joined=device.domain_joined,
    )


def device_certificate_state_list(
    *, profile_ids: Iterable[int] | None = None, states: Iterable[str] | None = None
) -> QuerySet[DeviceCertificateState]:
    queryset = DeviceCertificateState.objects.select_related("device", "profile", "certificate")
    if profile_ids is not None:
        queryset = queryset.filter(profile_id__in=list(profile_ids))
    if states is not None:
        queryset = queryset.filter(state__in=list(states))
    return queryset
