"""The profiles' part of a CA rollover: the next CA certificate published to devices, the SCEP profiles moved.

Prepare: every trusted certificate profile that publishes the CA being rolled (one of our CAs, or the same
certificate uploaded) gets a sibling that publishes the successor, for the same platform and destination
store, assigned to the same groups and targets. Devices receive both at their next check-in and trust
both across the switch; the old profile stays until the old CA has expired (the runbook,
docs/ca-rollover.md, says when to delete it). A rolled root is self-signed: no cross-certificate is made.

Switch: every SCEP profile whose certificates come from the old CA comes from the successor, and names the
trusted certificate profile of the successor's root if the root changed (a root's rollover, or an issuing
CA moved under the next root). Its version is bumped, so that devices get the new payload (and a new
challenge) at their next check-in; the certificates already issued are not revoked (``revoke_on_change``
is for a change of what a certificate says, not of who signs the next one): they stay valid until they
expire, or until a device's new certificate supersedes them (``revoke_superseded``).

Cancel: the successor's trusted certificate profiles and their assignments are deleted.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

from django.db import transaction
from django.db.models import F, Q, QuerySet

from ca.models import CertificateAuthority
from core.exceptions import ApplicationError
from profiles.models import ProfileAssignment, ScepProfile, TrustedRootProfile
from profiles.services.profiles import assignment_create, scep_profile_validate, trusted_root_profile_create

__all__ = [
    "ScepProfileSwitch",
    "TrustedRootPublication",
    "scep_profiles_following",
    "scep_profiles_switch",
    "trusted_roots_next_publish",
    "trusted_roots_next_unpublish",
    "trusted_roots_publishing",
]


@dataclass(frozen=True)
class TrustedRootPublication:
    """A trusted certificate profile of the old CA and its sibling that publishes the successor."""

    current: TrustedRootProfile
    next: TrustedRootProfile
    #: "created", or "kept" when it existed already.
    action: str
    assignments_added: int = 0


@dataclass(frozen=True)
class ScepProfileSwitch:
    """A SCEP profile moved to the successor: its new version and trusted certificate profile."""

    profile: ScepProfile
    version: int
    root_profile: TrustedRootProfile


def trusted_roots_publishing(*, authority: CertificateAuthority) -> QuerySet[TrustedRootProfile]:
    """The trusted certificate profiles that carry ``authority``'s certificate (linked or uploaded)."""
    return TrustedRootProfile.objects.filter(
        Q(authority=authority) | Q(thumbprint_sha1=authority.fingerprint_sha1)
    ).order_by("name")


def scep_profiles_following(*, authority: CertificateAuthority) -> QuerySet[ScepProfile]:
    """The SCEP profiles whose certificates come from ``authority``: they follow it at the switch."""
    return ScepProfile.objects.filter(authority=authority).select_related("root_profile").order_by("name")


def _next_name(profile: TrustedRootProfile, successor: CertificateAuthority) -> str:
    base = f"{profile.name} ({successor.slug})"[:255]
    name, number = base, 2
    while TrustedRootProfile.objects.filter(name=name).exists():
        name = f"{base[:250]} ({number})"
        number += 1
    return name


@transaction.atomic
def trusted_roots_next_publish(
    *, authority: CertificateAuthority, successor: CertificateAuthority
) -> list[TrustedRootPublication]:
    """Publish ``successor`` wherever ``authority`` is published; idempotent (an existing sibling is kept and
    gets the assignments it lacks).
    """
    publications: list[TrustedRootPublication] = []
    for current in trusted_roots_publishing(authority=authority):
        sibling = TrustedRootProfile.objects.filter(
            platform=current.platform, thumbprint_sha1=successor.fingerprint_sha1
        ).first()
        action = "kept"
        if sibling is None:
            sibling = trusted_root_profile_create(
                authority=successor,
                name=_next_name(current, successor),
                description=f"Next CA certificate of {authority.name} (CA rollover to {successor.slug}). "
                f"{current.description}".strip(),
                platform=current.platform,
                destination_store=current.destination_store,
                certificate_file_name=f"{successor.slug}.cer",
            )
            action = "created"
        added = 0
        for assignment in ProfileAssignment.objects.filter(trusted_root_profile=current).order_by("pk"):
            exists = ProfileAssignment.objects.filter(
                trusted_root_profile=sibling,
                target=assignment.target,
                group=assignment.group,
                intent=assignment.intent,
            ).exists()
            if not exists:
                assignment_create(
                    trusted_root_profile=sibling,
                    target=assignment.target,
                    group=assignment.group,
                    intent=assignment.intent,
                )
                added += 1
        publications.append(TrustedRootPublication(current, sibling, action, added))
    return publications


@transaction.atomic
def trusted_roots_next_unpublish(*, successor: CertificateAuthority) -> list[str]:
    """A cancelled rollover: delete the trusted certificate profiles of ``successor`` that no SCEP profile
    names, with their assignments. Returns their names.
    """
    removed: list[str] = []
    for profile in TrustedRootProfile.objects.filter(authority=successor).order_by("name"):
        named_by = sorted(profile.scep_profiles.values_list("name", flat=True))
        if named_by:
            raise ApplicationError(
                f"trusted certificate profile {profile.name!r} is named by SCEP profile(s) "
                f"{', '.join(named_by)} (switched to a CA under {successor.slug}): it stays",
                code="rollover_root_in_use",
            )
        ProfileAssignment.objects.filter(trusted_root_profile=profile).delete()
        removed.append(profile.name)
        profile.delete()
    return removed


def _root_profile_for(profile: ScepProfile, successor: CertificateAuthority) -> TrustedRootProfile:
    root = successor.root()
    if profile.root_profile.thumbprint_sha1 == root.fingerprint_sha1:
        return profile.root_profile
    found = (
        TrustedRootProfile.objects.filter(platform=profile.platform, thumbprint_sha1=root.fingerprint_sha1)
        .order_by("name")
        .first()
    )
    if found is None:
        raise ApplicationError(
            f"SCEP profile {profile.name!r} would chain to {root.slug} ({root.subject}), which no trusted "
            f"certificate profile for {profile.get_platform_display()} publishes: prepare {root.slug}'s "
            "rollover first, or create that trusted certificate profile",
            code="rollover_root_not_published",
        )
    return found


@transaction.atomic
def scep_profiles_switch(
    *, authority: CertificateAuthority, successor: CertificateAuthority
) -> list[ScepProfileSwitch]:
    """Move the SCEP profiles of ``authority`` to ``successor`` (and its root's trusted certificate profile),
    bump their versions, revoke nothing. All or none.

    Raises:
        ApplicationError: the successor's root is not published for a profile's platform.
        ValidationError: a profile would not be valid with the successor (e.g. its template unpublished).
    """
    switched: list[ScepProfileSwitch] = []
    for profile in scep_profiles_following(authority=authority):
        candidate = copy.copy(profile)
        candidate.authority = successor
        candidate.root_profile = _root_profile_for(profile, successor)
        scep_profile_validate(profile=candidate)
        profile.authority, profile.root_profile = candidate.authority, candidate.root_profile
        profile.save(update_fields=["authority", "root_profile", "updated_at"])
        ScepProfile.objects.filter(pk=profile.pk).update(version=F("version") + 1)
        profile.refresh_from_db(fields=["version"])
        switched.append(ScepProfileSwitch(profile, profile.version, profile.root_profile))
    return switched
