"""Device check-in: what applies to a device, rendered, with a fresh one-time challenge per SCEP profile.

The challenge (``cp1.<id>.<secret>``) is bound to the device, the profile (and its version), the
rendered subject and SANs, the key size and an expiry; only an HMAC of the secret is stored, and it
is single use. The same rendered values feed the JSON answer, the .mobileconfig and the Windows CSP.
"""

from __future__ import annotations

import base64
import datetime as dt
import logging
import uuid
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from django.db import transaction
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac

from ca.crypto.names import general_name_to_json, name_to_json
from core import metrics
from directory.models import Device
from eventlog.choices import EventId, EventLevel
from eventlog.services import EventLinks, event_record
from profiles.choices import CertificateState
from profiles.conf import profiles_settings
from profiles.models import DeviceCertificateState, DeviceChallenge, ScepProfile, TrustedRootProfile
from profiles.naming.request import RenderedRequest, render_request
from profiles.naming.sans import parse_san_entries
from profiles.naming.subject import parse_subject_format
from profiles.naming.variables import CertificateType, RenderError, TemplateError
from profiles.selectors import Resolution, device_render_context, profile_resolve_for_device
from profiles.services.states import device_state_set, renewal_due_at
from profiles.services.sweeps import renewal_due_reason
from profiles.validation import san_entries, subject_format_text

__all__ = [
    "CHALLENGE_PREFIX",
    "CheckinResult",
    "IssuedChallenge",
    "ScepDelivery",
    "challenge_digest",
    "challenge_issue",
    "challenge_secret",
    "device_checkin",
    "mapping_sid",
    "scep_profile_render",
]

logger = logging.getLogger(__name__)

CHALLENGE_PREFIX = "cp1"


@dataclass(frozen=True)
class ScepDelivery:
    """One SCEP profile as delivered to a device: rendered values and a challenge, or why it failed."""

    profile: ScepProfile
    rendered: RenderedRequest | None = None
    challenge: str = ""
    challenge_expires_at: dt.datetime | None = None
    problem: str = ""


@dataclass(frozen=True)
class CheckinResult:
    device: Device
    trusted_roots: tuple[TrustedRootProfile, ...] = ()
    scep: tuple[ScepDelivery, ...] = field(default_factory=tuple)


def challenge_digest(secret: str) -> str:
    return salted_hmac("certportal.profiles.device-challenge", secret, algorithm="sha256").hexdigest()


def scep_profile_render(*, profile: ScepProfile, device: Device) -> RenderedRequest:
    """Subject and SANs of ``profile`` for ``device`` (and its primary user). Raises RenderError with a
    readable reason when the device lacks a variable (no IMEI, no primary user, ...).
    """
    certificate_type = profile.certificate_type
    context = device_render_context(device=device, certificate_type=certificate_type)
    try:
        subject_format = parse_subject_format(subject_format_text(profile), certificate_type=certificate_type)
        sans = parse_san_entries(san_entries(profile), certificate_type=certificate_type)
    except (TemplateError, ValueError) as exc:  # saved before a rule existed: report, do not crash
        raise RenderError(f"the profile's subject or SAN format is invalid: {exc}") from exc
    if certificate_type == CertificateType.USER and device.primary_user is None:
        raise RenderError("a user certificate needs a device with a primary user")
    user = device.primary_user
    if certificate_type == CertificateType.USER and user is not None and not user.enabled:
        raise RenderError(f"the device's user {user.user_principal_name} is disabled: no certificate for it")
    if profile.include_sid_extension and not mapping_sid(profile=profile, device=device):
        raise RenderError(
            "the profile adds the SID extension (strong mapping), but the user has no on-premises "
            "security identifier"
            if certificate_type == CertificateType.USER
            else "the profile adds the SID extension (strong mapping), but the device is not a hybrid-joined "
            "Windows device with an on-premises security identifier"
        )
    return render_request(subject_format, sans, context)


def mapping_sid(*, profile: ScepProfile, device: Device) -> str:
    """The SID of strong mapping (KB5014754): the user's for a user certificate, the device's (its computer
    account, hybrid-joined Windows) for a device certificate; empty when there is none.
    """
    if profile.certificate_type == CertificateType.USER:
        return device.primary_user.on_premises_security_identifier if device.primary_user else ""
    return device.security_identifier if device.domain_joined else ""


def challenge_secret(challenge_id: uuid.UUID) -> str:
    """The secret part of a challenge, derived from its id under ``SECRET_KEY`` (never stored): a device
    that checks in again gets the same live challenge instead of a new one, and only its HMAC is kept.
    """
    digest = salted_hmac("certportal.profiles.device-challenge-secret", challenge_id.hex, algorithm="sha256")
    return base64.urlsafe_b64encode(digest.digest()).decode("ascii").rstrip("=")[:32]


def _challenge_text(record: DeviceChallenge) -> str:
    return f"{CHALLENGE_PREFIX}.{record.id.hex}.{challenge_secret(record.id)}"


@dataclass(frozen=True)
class IssuedChallenge:
    text: str
    record: DeviceChallenge
    #: True when the device's live challenge was handed out again (nothing new was issued).
    reused: bool


def challenge_issue(*, device: Device, profile: ScepProfile, rendered: RenderedRequest) -> IssuedChallenge:
    """The one-time challenge for exactly this request: the device's live one if it has an unused,
    unexpired challenge for the same profile version and the same rendered request, else a new one (and
    its other live challenges for the profile end now: at most one is live per device and profile).
    """
    now = timezone.now()
    live = DeviceChallenge.objects.filter(
        device=device, profile=profile, consumed_at__isnull=True, expires_at__gt=now
    )
    reusable = live.filter(
        profile_version=profile.version,
        canonical_subject=rendered.canonical_subject,
        key_size=profile.key_size,
    ).order_by("-created_at")
    for record in reusable:
        text = _challenge_text(record)
        if list(record.canonical_sans) == list(rendered.canonical_sans) and constant_time_compare(
            challenge_digest(challenge_secret(record.id)), record.secret_digest
        ):
            live.exclude(pk=record.pk).update(expires_at=now)
            return IssuedChallenge(text=text, record=record, reused=True)
    live.update(expires_at=now)
    ttl = dt.timedelta(minutes=profiles_settings().CHALLENGE_TTL_MINUTES)
    user = device.primary_user if profile.certificate_type == CertificateType.USER else None
    sid = mapping_sid(profile=profile, device=device) if profile.include_sid_extension else ""
    challenge_id = uuid.uuid4()
    record = DeviceChallenge.objects.create(
        id=challenge_id,
        device=device,
        profile=profile,
        profile_version=profile.version,
        user=user,
        secret_digest=challenge_digest(challenge_secret(challenge_id)),
        scep_server_paths=scep_server_paths(profile),
        subject_json=name_to_json(rendered.subject),
        sans_json=[general_name_to_json(name) for name in rendered.sans],
        canonical_subject=rendered.canonical_subject,
        canonical_sans=list(rendered.canonical_sans),
        key_size=profile.key_size,
        validity_days=profile.validity_days,
        sid=sid,
        expires_at=now + ttl,
    )
    metrics.challenge_issued()
    return IssuedChallenge(text=_challenge_text(record), record=record, reused=False)


def scep_server_paths(profile: ScepProfile) -> list[str]:
    """The URL paths of the profile's SCEP servers: the SCEP services a challenge is good for."""
    return sorted({urlsplit(str(url)).path or "/" for url in profile.scep_server_urls})


def _renewal_due(state: DeviceCertificateState, profile: ScepProfile, now: dt.datetime) -> bool:
    """The sweep marks it too; a device checking in between two sweeps is told at once."""
    certificate = state.certificate
    return certificate is not None and now >= renewal_due_at(
        certificate, profile.renewal_threshold_percentage
    )


def device_checkin(
    *, device: Device, issue_challenges: bool = True, resolution: Resolution | None = None
) -> CheckinResult:
    """Resolve, render and (unless only previewing) issue one-time challenges; update the device's states.
    (A retired or wiped device resolves to nothing: no profiles, no challenges.) ``resolution``: what
    ``profile_resolve_for_device`` gave for this device, when the caller has it already.
    """
    now = timezone.now()
    if resolution is None:
        resolution = profile_resolve_for_device(device=device)
    deliveries: list[ScepDelivery] = []
    with transaction.atomic():
        Device.objects.filter(pk=device.pk).update(last_checkin_at=now)
        states = {
            s.profile_id: s
            for s in DeviceCertificateState.objects.filter(device=device).select_related("certificate")
        }
        for applied in resolution.scep_profiles:
            profile = applied.profile
            if applied.problem:
                device_state_set(
                    device=device, profile=profile, state=CertificateState.FAILED, reason=applied.problem
                )
                deliveries.append(ScepDelivery(profile=profile, problem=applied.problem))
                continue
            try:
                rendered = scep_profile_render(profile=profile, device=device)
            except RenderError as exc:
                device_state_set(
                    device=device, profile=profile, state=CertificateState.FAILED, reason=str(exc)
                )
                deliveries.append(ScepDelivery(profile=profile, problem=str(exc)))
                continue
            state = states.get(profile.pk)
            if (
                state is not None
                and state.state == CertificateState.ISSUED
                and _renewal_due(state, profile, now)
            ):
                device_state_set(
                    device=device,
                    profile=profile,
                    state=CertificateState.RENEWAL_DUE,
                    reason=renewal_due_reason(profile.renewal_threshold_percentage),
                )
            if not issue_challenges:
                deliveries.append(ScepDelivery(profile=profile, rendered=rendered))
                continue
            issued = challenge_issue(device=device, profile=profile, rendered=rendered)
            if not issued.reused:
                _record_challenge_issued(device, profile, issued.record)
            if state is None or state.state not in (CertificateState.ISSUED, CertificateState.RENEWAL_DUE):
                device_state_set(device=device, profile=profile, state=CertificateState.CHALLENGE_ISSUED)
            deliveries.append(
                ScepDelivery(
                    profile=profile,
                    rendered=rendered,
                    challenge=issued.text,
                    challenge_expires_at=issued.record.expires_at,
                )
            )
        for profile in resolution.not_applicable:
            device_state_set(
                device=device,
                profile=profile,
                state=CertificateState.NOT_APPLICABLE,
                reason=f"the profile is for {profile.get_platform_display()}, "
                f"the device is {device.get_platform_display()}",
            )
        if issue_challenges:
            _record_checkin(device, resolution.trusted_roots, deliveries)
    return CheckinResult(device=device, trusted_roots=resolution.trusted_roots, scep=tuple(deliveries))


def _device_links(device: Device, *, with_user: bool = True) -> EventLinks:
    user = device.primary_user if with_user else None
    return EventLinks(
        device_id=device.pk,
        device_external_id=device.external_id,
        user_id=user.pk if user is not None else None,
        user_principal_name=user.user_principal_name if user is not None else "",
    )


def _record_checkin(
    device: Device, trusted_roots: tuple[TrustedRootProfile, ...], deliveries: list[ScepDelivery]
) -> None:
    """30001: what the device received, on its timeline (a preview is not a check-in and is not recorded)."""
    problems = {delivery.profile.name: delivery.problem for delivery in deliveries if delivery.problem}
    delivered = [delivery.profile.name for delivery in deliveries if not delivery.problem]
    summary = f"{len(trusted_roots)} trusted root(s), {len(delivered)} SCEP profile(s)"
    if problems:
        summary += f", {len(problems)} not delivered: " + "; ".join(
            f"{name}: {problem}" for name, problem in sorted(problems.items())
        )
    event_record(
        event_id=EventId.DEVICE_CHECK_IN,
        message=f"device {device.external_id} checked in: {summary}",
        level=EventLevel.WARNING if problems else EventLevel.INFORMATION,
        details={
            "trusted_root_profiles": sorted(profile.name for profile in trusted_roots),
            "scep_profiles": sorted(delivered),
            "not_delivered": problems,
        },
        **_device_links(device),
    )


def _record_challenge_issued(device: Device, profile: ScepProfile, record: DeviceChallenge) -> None:
    """30002: a new one-time challenge (never its secret); re-delivering the live one is not recorded."""
    links = _device_links(device, with_user=record.user_id is not None)  # a device certificate's names none
    links["template_name"] = profile.template.name
    event_record(
        event_id=EventId.CHALLENGE_ISSUED,
        message=f"one-time challenge issued to device {device.external_id} for SCEP profile {profile.name} "
        f"(version {record.profile_version}), valid until {record.expires_at.isoformat()}",
        details={
            "challenge_id": str(record.id),
            "profile": profile.name,
            "profile_version": record.profile_version,
            "subject": record.canonical_subject,
            "expires_at": record.expires_at.isoformat(),
        },
        **links,
    )
