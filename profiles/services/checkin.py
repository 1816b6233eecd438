"""Device check-in: what applies to a device, rendered, with a fresh one-time challenge per SCEP profile.

The challenge (``cp1.<id>.<secret>``) is bound to the device, the profile (and its version), the
rendered subject and SANs, the key size and an expiry; only an HMAC of the secret is stored, and it
is single use. The same rendered values feed the JSON answer, the .mobileconfig and the Windows CSP.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac

from ca.crypto.names import general_name_to_json, name_to_json
from directory.models import Device
from profiles.choices import CertificateState
from profiles.conf import profiles_settings
from profiles.models import DeviceCertificateState, DeviceChallenge, ScepProfile, TrustedRootProfile
from profiles.naming.request import RenderedRequest, render_request
from profiles.naming.sans import parse_san_entries
from profiles.naming.subject import parse_subject_format
from profiles.naming.variables import CertificateType, RenderError, TemplateError
from profiles.selectors import device_render_context, profile_resolve_for_device
from profiles.services.states import device_state_set
from profiles.validation import san_entries, subject_format_text

__all__ = [
    "CHALLENGE_PREFIX",
    "CheckinResult",
    "ScepDelivery",
    "challenge_digest",
    "challenge_issue",
    "device_checkin",
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
    if profile.include_sid_extension and not (
        device.primary_user is not None and device.primary_user.on_premises_security_identifier
    ):
        raise RenderError(
            "the profile adds the SID extension (strong mapping), but the user has no on-premises "
            "security identifier"
        )
    return render_request(subject_format, sans, context)


def challenge_issue(
    *, device: Device, profile: ScepProfile, rendered: RenderedRequest
) -> tuple[str, DeviceChallenge]:
    """Create a one-time challenge for exactly this request; return the challenge text and its record."""
    secret = secrets.token_urlsafe(24)
    ttl = dt.timedelta(minutes=profiles_settings().CHALLENGE_TTL_MINUTES)
    user = device.primary_user if profile.certificate_type == CertificateType.USER else None
    sid = ""
    if profile.include_sid_extension and user is not None:
        sid = user.on_premises_security_identifier
    record = DeviceChallenge.objects.create(
        device=device,
        profile=profile,
        profile_version=profile.version,
        user=user,
        secret_digest=challenge_digest(secret),
        subject_json=name_to_json(rendered.subject),
        sans_json=[general_name_to_json(name) for name in rendered.sans],
        canonical_subject=rendered.canonical_subject,
        canonical_sans=list(rendered.canonical_sans),
        key_size=profile.key_size,
        validity_days=profile.validity_days,
        sid=sid,
        expires_at=timezone.now() + ttl,
    )
    return f"{CHALLENGE_PREFIX}.{record.id.hex}.{secret}", record


def _renewal_due(state: DeviceCertificateState, profile: ScepProfile, now: dt.datetime) -> bool:
    certificate = state.certificate
    if certificate is None:
        return False
    lifetime = certificate.not_after - certificate.not_before
    return now >= certificate.not_after - lifetime * (profile.renewal_threshold_percentage / 100)


def device_checkin(*, device: Device, issue_challenges: bool = True) -> CheckinResult:
    """Resolve, render and (unless only previewing) issue one-time challenges; update the device's states."""
    now = timezone.now()
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
                    reason=f"less than {profile.renewal_threshold_percentage}% of the certificate's "
                    "lifetime remains",
                )
            if not issue_challenges:
                deliveries.append(ScepDelivery(profile=profile, rendered=rendered))
                continue
            challenge, record = challenge_issue(device=device, profile=profile, rendered=rendered)
            if state is None or state.state not in (CertificateState.ISSUED, CertificateState.RENEWAL_DUE):
                device_state_set(device=device, profile=profile, state=CertificateState.CHALLENGE_ISSUED)
            deliveries.append(
                ScepDelivery(
                    profile=profile,
                    rendered=rendered,
                    challenge=challenge,
                    challenge_expires_at=record.expires_at,
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
    return CheckinResult(device=device, trusted_roots=resolution.trusted_roots, scep=tuple(deliveries))
