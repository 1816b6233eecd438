"""The built-in roles, after the reference's rights model (AD CS and Intune), as permission patterns.

Each role is a Django group of the same name; ``roles_sync`` (run after every ``migrate``, and by
``manage.py sync_roles``) gives it exactly the permissions its patterns match, so a new model's
permissions reach the roles that cover it. Patterns are ``fnmatch`` patterns over
``app_label.codename``; ``exclude`` takes permissions back out. Pure data: no Django here.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["EXPLICIT", "ROLES", "Role"]


@dataclass(frozen=True)
class Role:
    name: str
    description: str
    include: tuple[str, ...]
    exclude: tuple[str, ...] = ()


ROLES: tuple[Role, ...] = (
    Role(
        "Read-only",
        "Auditor: sees every object, the event log and the audit log; changes nothing.",
        include=("*.view_*",),
        exclude=("sessions.*",),
    ),
    Role(
        "Profile manager",
        "Trusted-root, SCEP and PKCS certificate profiles, Wi-Fi, VPN and email resource profiles and their "
        "assignments; reads the templates and CAs a "
        "profile names (as the reference requires for browsing templates), the groups it is assigned to, and "
        "the devices' certificate states. A change that would revoke certificates needs the certificate "
        "manager's revoke right; a profile that names a fixed identity needs the certificate manager.",
        include=(
            "profiles.*_trustedrootprofile",
            "profiles.*_scepprofile",
            "profiles.*_pkcsprofile",
            "profiles.*_resourceprofile",
            "profiles.*_profileassignment",
            "profiles.view_devicecertificatestate",
            "profiles.view_devicecertificate",
            "ca.view_certificatetemplate",
            "ca.view_certificateauthority",
            "directory.view_group",
            "directory.view_device",
            "directory.view_directoryuser",
            "enrollment.view_scepservice",
        ),
    ),
    Role(
        "Certificate manager",
        "The reference's Issue and Manage Certificates: approves and denies pending requests, submits "
        "requests, revokes certificates by any path (including retiring and wiping devices), publishes CRLs, "
        "and may save profiles that name a fixed identity; reads the CA, the directory and the logs.",
        include=(
            "ca.view_*",
            "ca.add_certificaterequest",
            "ca.approve_certificaterequest",
            "ca.revoke_issuedcertificate",
            "ca.publish_crl",
            "directory.view_*",
            "profiles.view_*",
            "profiles.name_static_identity",
            "enrollment.view_*",
            "eventlog.view_*",
        ),
    ),
    Role(
        "Directory manager",
        "Users, devices and groups, and directory imports (which need both add and change). Not check-in "
        "tokens (the device enrollment operator's) nor retire and wipe (they revoke: the certificate "
        "manager's).",
        include=("directory.*",),
        exclude=("directory.rotate_checkin_token",),
    ),
    Role(
        "Device enrollment operator",
        "Hands out check-in tokens and device payloads (each issues one-time challenges that let a device "
        "enroll as its user); reads the devices, their users and their certificate states.",
        include=(
            "directory.view_device",
            "directory.view_directoryuser",
            "directory.rotate_checkin_token",
            "profiles.hand_out_payload",
            "profiles.view_manageddevice",
            "profiles.view_devicecertificatestate",
            "profiles.view_scepprofile",
            "profiles.view_pkcsprofile",
            "profiles.view_resourceprofile",
            "profiles.view_trustedrootprofile",
        ),
    ),
    Role(
        "Administrator",
        "Everything: CAs, templates, SCEP services, people, roles and API tokens.",
        include=("*",),
        exclude=("sessions.*",),
    ),
)

#: Permissions a role names without a wildcard: each must exist (checked by the suite).
EXPLICIT = frozenset(
    pattern
    for role in ROLES
    for pattern in (*role.include, *role.exclude)
    if not any(c in pattern for c in "*?[")
)
