"""Verifying a one-time challenge at SCEP time (the Intune policy module's VerifyRequest and Notify).

A challenge authorises exactly one request: the CSR's subject, SANs and key must be what the
challenge was issued for; it must be unexpired, unused, for a device that is still active and still
assigned the profile, and presented to the CA the profile names. Refusals carry the connector's
diagnostic code where one exists and are recorded on the device's certificate state.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

from django.db import transaction
from django.utils import timezone
from django.utils.crypto import constant_time_compare

from ca.crypto.names import general_name_from_json, name_from_json
from ca.models import CertificateAuthority, CertificateTemplate, IssuedCertificate
from directory.models import DeviceState
from profiles.choices import CertificateState
from profiles.exceptions import ChallengeInvalid
from profiles.models import DeviceCertificate, DeviceCertificateState, DeviceChallenge
from profiles.rendering import canonical_sans, canonical_subject
from profiles.selectors import profile_resolve_for_device
from profiles.services.checkin import CHALLENGE_PREFIX, challenge_digest
from profiles.services.states import device_state_set

__all__ = ["ChallengeAuthorization", "certificate_renewal_notify", "challenge_notify", "challenge_verify"]

logger = logging.getLogger(__name__)

_FORMAT = re.compile(rf"^{CHALLENGE_PREFIX}\.([0-9a-f]{{32}})\.([A-Za-z0-9_-]{{16,64}})$")
#: States a refused request must not overwrite: the device's certificate is fine, or was revoked on purpose.
_SETTLED_STATES = frozenset({CertificateState.ISSUED, CertificateState.RENEWAL_DUE, CertificateState.REVOKED})
DIAG_DESERIALIZE_FAILED = 0x00000410
DIAG_CHALLENGE_EXPIRED = 0x00000411


@dataclass(frozen=True)
class ChallengeAuthorization:
    """What a valid challenge lets the CA issue, and the callbacks the SCEP side calls."""

    challenge_id: uuid.UUID
    subject: x509.Name
    sans: tuple[x509.GeneralName, ...]
    template: CertificateTemplate
    authority: CertificateAuthority
    validity_days: int | None
    sid: str
    consume: Callable[[], None]


def challenge_verify(
    *, challenge: str, csr: x509.CertificateSigningRequest, authority: CertificateAuthority
) -> ChallengeAuthorization | None:
    """None when ``challenge`` is not ours; ChallengeInvalid when it is and does not authorise this."""
    match = _FORMAT.match(challenge)
    if match is None:
        return None
    record = (
        DeviceChallenge.objects.select_related("device", "profile", "profile__template", "profile__authority")
        .filter(id=uuid.UUID(match.group(1)))
        .first()
    )
    if record is None or not constant_time_compare(challenge_digest(match.group(2)), record.secret_digest):
        raise ChallengeInvalid(
            "the challenge cannot be validated; get a new one by checking in",
            code="ChallengeDeserializationError",
            diagnostic_code=DIAG_DESERIALIZE_FAILED,
        )
    try:
        _check(record, csr, authority)
    except ChallengeInvalid as refusal:
        _record_refusal(record, refusal)
        raise
    profile = record.profile
    return ChallengeAuthorization(
        challenge_id=record.id,
        subject=name_from_json(record.subject_json),
        sans=tuple(general_name_from_json(item) for item in record.sans_json),
        template=profile.template,
        authority=profile.authority,
        validity_days=record.validity_days,
        sid=record.sid,
        consume=lambda: _consume(record),
    )


def _record_refusal(record: DeviceChallenge, refusal: ChallengeInvalid) -> None:
    """A refused request marks the device failed, unless it already holds its certificate: a replayed or
    forged request must not make a healthy device look broken (the event log has the refusal).
    """
    current = DeviceCertificateState.objects.filter(device=record.device, profile=record.profile).first()
    if current is not None and current.state in _SETTLED_STATES:
        return
    device_state_set(
        device=record.device,
        profile=record.profile,
        state=CertificateState.FAILED,
        reason=f"SCEP request refused: {refusal.message}",
        diagnostic_code=refusal.diagnostic_code,
    )


def _check(
    record: DeviceChallenge, csr: x509.CertificateSigningRequest, authority: CertificateAuthority
) -> None:
    now = timezone.now()
    if record.consumed_at is not None:
        raise ChallengeInvalid("the challenge has already been used", code="ChallengeAlreadyUsed")
    if record.is_expired(now):
        raise ChallengeInvalid(
            "request denied due to expired certificate challenge; check in again for a new one",
            code="ChallengeExpired",
            diagnostic_code=DIAG_CHALLENGE_EXPIRED,
        )
    device, profile = record.device, record.profile
    if device.state != DeviceState.ACTIVE:
        raise ChallengeInvalid(
            f"the device is {device.get_state_display().lower()}", code="BadDeviceIdInChallenge"
        )
    applied = {a.profile.pk for a in profile_resolve_for_device(device=device).scep_profiles if not a.problem}
    if profile.pk not in applied:
        raise ChallengeInvalid(
            "the SCEP profile is no longer assigned to this device",
            code="ScepProfileNoLongerTargetedToTheClient",
        )
    if profile.authority_id != authority.pk:
        raise ChallengeInvalid(
            f"the profile's certificates come from CA {profile.authority}, not from this SCEP service's CA",
            code="BadCertificateRequestIdInChallenge",
        )
    if canonical_subject(csr.subject) != record.canonical_subject:
        raise ChallengeInvalid(
            f"subject name in the request ({csr.subject.rfc4514_string()}) does not match the challenge's",
            code="SubjectNameMismatch",
        )
    try:
        requested = list(csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).value)
    except x509.ExtensionNotFound:
        requested = []
    except ValueError as exc:
        raise ChallengeInvalid(
            f"the request's extensions cannot be parsed: {exc}", code="SubjectAltNameMismatch"
        ) from exc
    if list(canonical_sans(requested)) != list(record.canonical_sans):
        raise ChallengeInvalid(
            "subject alternative names in the request do not match the challenge's",
            code="SubjectAltNameMismatch",
        )
    key = csr.public_key()
    if not isinstance(key, rsa.RSAPublicKey) or key.key_size != record.key_size:
        size = key.key_size if isinstance(key, rsa.RSAPublicKey) else type(key).__name__
        raise ChallengeInvalid(
            f"the request's key ({size}) is not the RSA {record.key_size}-bit key the profile asks for",
            code="KeyLengthMismatch",
        )


def _consume(record: DeviceChallenge) -> None:
    """Mark the challenge used, atomically: of two requests racing with it, one wins."""
    updated = DeviceChallenge.objects.filter(pk=record.pk, consumed_at__isnull=True).update(
        consumed_at=timezone.now()
    )
    if not updated:
        raise ChallengeInvalid("the challenge has already been used", code="ChallengeAlreadyUsed")
    device_state_set(device=record.device, profile=record.profile, state=CertificateState.ISSUE_PENDING)


def challenge_notify(*, challenge_id: uuid.UUID, certificate: IssuedCertificate | None, outcome: str) -> None:
    """The enrollment's outcome (the policy module's Notify): the device's state and certificate binding."""
    record = DeviceChallenge.objects.select_related("device", "profile").filter(pk=challenge_id).first()
    if record is None:
        return
    with transaction.atomic():
        if certificate is not None:
            DeviceCertificate.objects.get_or_create(
                certificate=certificate, defaults={"device": record.device, "profile": record.profile}
            )
            device_state_set(
                device=record.device,
                profile=record.profile,
                state=CertificateState.ISSUED,
                certificate=certificate,
            )
        else:
            device_state_set(
                device=record.device, profile=record.profile, state=CertificateState.FAILED, reason=outcome
            )


def certificate_renewal_notify(
    *, previous: IssuedCertificate, certificate: IssuedCertificate | None, outcome: str
) -> None:
    """A RenewalReq signed by ``previous`` succeeded or failed: follow it for the device that holds it."""
    binding = (
        DeviceCertificate.objects.select_related("device", "profile").filter(certificate=previous).first()
    )
    if binding is None or binding.profile is None:
        return
    with transaction.atomic():
        if certificate is not None:
            DeviceCertificate.objects.get_or_create(
                certificate=certificate, defaults={"device": binding.device, "profile": binding.profile}
            )
            device_state_set(
                device=binding.device,
                profile=binding.profile,
                state=CertificateState.ISSUED,
                certificate=certificate,
                reason=f"renewed certificate {previous.serial}",
            )
        else:
            device_state_set(
                device=binding.device,
                profile=binding.profile,
                state=CertificateState.FAILED,
                reason=f"renewal failed: {outcome}",
            )
