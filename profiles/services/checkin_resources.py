"""Check-in of the profiles that use certificates: PKCS certificate profiles (the CA generates the key and
the device receives a PKCS#12) and the Wi-Fi, VPN and email resource profiles.

:func:`device_checkin_all` is the device's whole check-in: the trusted-root and SCEP profiles of
:func:`profiles.services.checkin.device_checkin`, then, for each PKCS profile that applies, a new request to
the CA (``ca.services.pkcs_requests``) when the device has no current certificate, or the PKCS#12 of its
issued request (handed over once, bound to the device as its certificate for the profile, like a SCEP
certificate: renewal, supersession and revocation follow the same rules), and the resource profiles with
the reason of any that cannot be delivered (its certificate profile or its server's root not assigned).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from ca.choices import PkcsRequestStatus
from ca.exceptions import AuthorityUnavailable, PolicyViolation
from ca.models import IssuedCertificate
from ca.services.pkcs_requests import PkcsBundle, pkcs_bundle_deliver, pkcs_request_submit
from ca.services.submission import RequestedKeyUsage
from directory.models import Device
from profiles.choices import CertificateState, EmailAddressAttribute
from profiles.conf import profiles_settings
from profiles.models import DeviceCertificateState, DevicePkcsRequest, ResourceProfile, ScepProfile
from profiles.naming.request import RenderedRequest
from profiles.naming.variables import CertificateType, RenderError
from profiles.selectors import AppliedScepProfile, device_render_context, profile_resolve_for_device
from profiles.services.checkin import CheckinResult, device_checkin, mapping_sid, scep_profile_render
from profiles.services.states import device_enrollment_succeeded, device_state_set, renewal_due_at

__all__ = ["DeviceCheckin", "PkcsDelivery", "ResourceDelivery", "device_checkin_all"]

logger = logging.getLogger(__name__)

#: The identifiers a VPN profile's local identifier may name.
_IDENTIFIER_VARIABLES = ("{{UserPrincipalName}}", "{{EmailAddress}}", "{{DeviceName}}", "{{DeviceId}}")


@dataclass(frozen=True)
class PkcsDelivery:
    """One PKCS profile at this check-in: its PKCS#12 (once), or where it stands, or why it failed."""

    profile: ScepProfile
    #: issued (delivered earlier), delivered (now: ``bundle``), issue_pending, failed, preview
    state: str
    rendered: RenderedRequest | None = None
    bundle: PkcsBundle | None = None
    certificate: IssuedCertificate | None = None
    problem: str = ""


@dataclass(frozen=True)
class ResourceDelivery:
    profile: ResourceProfile
    problem: str = ""
    #: The VPN's client identity, the mailbox's address and user name, rendered for the device.
    local_identifier: str = ""
    email_address: str = ""
    user_name: str = ""


@dataclass(frozen=True)
class DeviceCheckin:
    """Everything a device receives at one check-in."""

    base: CheckinResult
    pkcs: tuple[PkcsDelivery, ...] = field(default_factory=tuple)
    resources: tuple[ResourceDelivery, ...] = field(default_factory=tuple)

    @property
    def device(self) -> Device:
        return self.base.device


def device_checkin_all(*, device: Device, issue_challenges: bool = True) -> DeviceCheckin:
    """The device's check-in; ``issue_challenges=False`` previews (nothing is requested or handed out)."""
    resolution = profile_resolve_for_device(device=device)  # once: the SCEP, PKCS and resource profiles
    base = device_checkin(device=device, issue_challenges=issue_challenges, resolution=resolution)
    pkcs: list[PkcsDelivery] = []
    if resolution.pkcs_profiles:  # no empty transaction (two round trips) for a device without PKCS profiles
        with transaction.atomic():
            pkcs = [
                _pkcs_step(device, applied, issue=issue_challenges) for applied in resolution.pkcs_profiles
            ]
    if issue_challenges and any(item.state == "issue_pending" for item in pkcs):
        pkcs = _await_issued(device, resolution.pkcs_profiles, pkcs)
    resources = tuple(
        _resource(device, applied.profile, applied.problem) for applied in resolution.resource_profiles
    )
    return DeviceCheckin(base=base, pkcs=tuple(pkcs), resources=resources)


def _await_issued(
    device: Device, applied: tuple[AppliedScepProfile, ...], pkcs: list[PkcsDelivery]
) -> list[PkcsDelivery]:
    """Requests sent at this check-in: wait a little for the CA worker (in the embedded default it has
    answered already), then hand over what it issued. Inside an outer transaction the request is not
    committed yet, so nobody could have issued it: no wait.
    """
    if transaction.get_connection().in_atomic_block:
        return pkcs
    deadline = time.monotonic() + profiles_settings().PKCS_DELIVERY_WAIT
    by_profile = {item.profile.pk: item for item in applied}
    while True:
        pending = [item for item in pkcs if item.state == "issue_pending"]
        latest = {
            request.profile_id: request.request.status
            for request in DevicePkcsRequest.objects.filter(
                device=device, profile_id__in=[item.profile.pk for item in pending]
            ).select_related("request")
        }
        if (
            any(status != PkcsRequestStatus.QUEUED for status in latest.values())
            or time.monotonic() >= deadline
        ):
            break
        time.sleep(0.05)
    with transaction.atomic():
        return [
            _pkcs_step(device, by_profile[item.profile.pk], issue=True)
            if item.state == "issue_pending"
            else item
            for item in pkcs
        ]


def _pkcs_step(device: Device, applied: AppliedScepProfile, *, issue: bool) -> PkcsDelivery:
    profile = applied.profile
    if applied.problem:
        device_state_set(
            device=device, profile=profile, state=CertificateState.FAILED, reason=applied.problem
        )
        return PkcsDelivery(profile=profile, state="failed", problem=applied.problem)
    try:
        rendered = scep_profile_render(profile=profile, device=device)
    except RenderError as exc:
        device_state_set(device=device, profile=profile, state=CertificateState.FAILED, reason=str(exc))
        return PkcsDelivery(profile=profile, state="failed", problem=str(exc))
    if not issue:
        return PkcsDelivery(profile=profile, state="preview", rendered=rendered)
    state = (
        DeviceCertificateState.objects.filter(device=device, profile=profile)
        .select_related("certificate")
        .first()
    )
    latest = (
        DevicePkcsRequest.objects.filter(device=device, profile=profile, profile_version=profile.version)
        .select_related("request")
        .first()
    )
    if latest is not None and latest.request.status == PkcsRequestStatus.ISSUED:
        bundle = pkcs_bundle_deliver(request=latest.request)
        if bundle is not None:
            certificate = IssuedCertificate.objects.get(pk=bundle.certificate_id)
            device_enrollment_succeeded(device=device, profile=profile, certificate=certificate)
            return PkcsDelivery(
                profile=profile, state="delivered", rendered=rendered, bundle=bundle, certificate=certificate
            )
    if latest is not None and latest.request.status == PkcsRequestStatus.QUEUED:
        device_state_set(device=device, profile=profile, state=CertificateState.ISSUE_PENDING)
        return PkcsDelivery(profile=profile, state="issue_pending", rendered=rendered)
    if latest is not None and latest.request.status == PkcsRequestStatus.FAILED:
        reason = f"the CA did not issue the certificate: {latest.request.failure_reason}"
        if state is None or state.state != CertificateState.FAILED or state.reason != reason[:1024]:
            device_state_set(device=device, profile=profile, state=CertificateState.FAILED, reason=reason)
            return PkcsDelivery(profile=profile, state="failed", rendered=rendered, problem=reason)
        # reported at the previous check-in: try again
    if _holds_current(state, profile):
        return PkcsDelivery(
            profile=profile,
            state="issued",
            rendered=rendered,
            certificate=state.certificate if state else None,
        )
    return _pkcs_request(device, profile, rendered)


def _holds_current(state: DeviceCertificateState | None, profile: ScepProfile) -> bool:
    """The device has its certificate for the profile (issued, not yet due for renewal)."""
    if state is None or state.state != CertificateState.ISSUED or state.certificate is None:
        return False
    return timezone.now() < renewal_due_at(state.certificate, profile.renewal_threshold_percentage)


def _pkcs_request(device: Device, profile: ScepProfile, rendered: RenderedRequest) -> PkcsDelivery:
    user = device.primary_user if profile.certificate_type == CertificateType.USER else None
    try:
        request = pkcs_request_submit(
            authority=profile.authority,
            template=profile.template,
            key_spec=profile.key_spec,
            subject=rendered.subject,
            sans=rendered.sans,
            validity_days=profile.validity_days,
            sid=mapping_sid(profile=profile, device=device) if profile.include_sid_extension else "",
            key_usage=RequestedKeyUsage(
                digital_signature=profile.key_usage_digital_signature,
                key_encipherment=profile.key_usage_key_encipherment,
            ),
            extended_key_usages=[str(item["oid"]) for item in profile.extended_key_usages],
            requester=f"pkcs-profile:{profile.pk}:{device.external_id}",
            holder={
                "device_id": device.pk,
                "device_external_id": device.external_id,
                "user_id": user.pk if user is not None else None,
                "user_principal_name": user.user_principal_name if user is not None else "",
            },
        )
    except (PolicyViolation, AuthorityUnavailable) as exc:
        reason = f"the CA refuses the request: {exc}"
        device_state_set(device=device, profile=profile, state=CertificateState.FAILED, reason=reason)
        return PkcsDelivery(profile=profile, state="failed", rendered=rendered, problem=reason)
    DevicePkcsRequest.objects.create(
        device=device, profile=profile, profile_version=profile.version, request=request
    )
    device_state_set(device=device, profile=profile, state=CertificateState.ISSUE_PENDING)
    return PkcsDelivery(profile=profile, state="issue_pending", rendered=rendered)


def _render_identifier(template: str, device: Device) -> str:
    context = device_render_context(device=device)
    values = {
        "{{UserPrincipalName}}": context.upn or "",
        "{{EmailAddress}}": context.email or "",
        "{{DeviceName}}": context.device_name or "",
        "{{DeviceId}}": context.device_id or "",
    }
    text = template
    for variable in _IDENTIFIER_VARIABLES:
        text = text.replace(variable, values[variable])
    return text


def _resource(device: Device, profile: ResourceProfile, problem: str) -> ResourceDelivery:
    if problem:
        return ResourceDelivery(profile=profile, problem=problem)
    user = device.primary_user
    local_identifier = (
        _render_identifier(profile.local_identifier, device) if profile.local_identifier else ""
    )
    email = user_name = ""
    if user is not None:
        upn = user.user_principal_name
        email = upn if profile.email_address_attribute == EmailAddressAttribute.UPN else (user.email or upn)
        user_name = upn
    if profile.kind == "email" and not email:
        return ResourceDelivery(
            profile=profile, problem="an email profile needs a device with a primary user"
        )
    if profile.kind == "vpn" and not local_identifier:
        return ResourceDelivery(
            profile=profile, problem="the VPN's local identifier renders empty on this device"
        )
    return ResourceDelivery(
        profile=profile, local_identifier=local_identifier, email_address=email, user_name=user_name
    )
