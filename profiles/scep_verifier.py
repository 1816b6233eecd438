"""The one-time device challenge at SCEP time: the profiles app's challenge verifier (the Intune policy
module's VerifyRequest and Notify), plugged into the SCEP front end through
``CERTPORTAL_CHALLENGE_VERIFIERS``.

A challenge authorises exactly one request: the CSR's subject, SANs and key must be what the challenge
was issued for; it must be unexpired, unused, issued for the profile as it is now (its version), for a
device that is still active and still assigned the profile, and presented to the CA the profile names.
Refusals carry the connector's diagnostic code where one exists and the Intune validator's reason, and
are recorded on the device's certificate state (unless the device already holds its certificate).

A RenewalReq signed by a certificate a device holds (``DeviceCertificate``) is renewed only while what
the certificate says still holds, as a new challenge would: the device is active, its user (the
challenge's, and the device's primary user for a user certificate) is enabled, the profile is still
assigned to the device and unchanged since the challenge (its version), and renders the certificate's
subject, SANs and SID today. Otherwise the device must check in and enroll afresh. Other certificates
(static challenge, API) are not this verifier's: the renewal rules alone decide.

This module implements enrollment's verifier interface; it is the only profiles module that refers to
enrollment (as the Intune connector implements NDES's policy-module interface).
"""

from __future__ import annotations

import logging
import re
import uuid
from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

from django.urls import Resolver404, resolve
from django.utils import timezone
from django.utils.crypto import constant_time_compare

from ca.crypto.canonical import canonical_sans, canonical_subject
from ca.crypto.names import general_name_from_json, general_name_to_text, name_from_json
from ca.models import CertificateAuthority, IssuedCertificate
from ca.services.submission import RequestedKeyUsage
from core import metrics
from directory.models import DeviceState, DirectoryUser
from enrollment.choices import Authorization, TransactionStatus
from enrollment.exceptions import EnrollmentRefused
from enrollment.scep.constants import FailInfo
from enrollment.verifiers.base import ChallengeGrant, ChallengeVerifier
from eventlog.choices import DiagnosticCode
from profiles.choices import CertificateState
from profiles.models import DeviceCertificate, DeviceCertificateState, DeviceChallenge
from profiles.naming.variables import CertificateType, RenderError
from profiles.selectors import profile_resolve_for_device
from profiles.services.checkin import CHALLENGE_PREFIX, challenge_digest, mapping_sid, scep_profile_render
from profiles.services.states import device_enrollment_failed, device_enrollment_succeeded, device_state_set

if TYPE_CHECKING:
    from enrollment.models import ScepService, ScepTransaction

__all__ = ["OneTimeChallengeVerifier", "challenge_consume", "challenge_verify", "renewal_verify"]

logger = logging.getLogger(__name__)

_FORMAT = re.compile(rf"^{CHALLENGE_PREFIX}\.([0-9a-f]{{32}})\.([A-Za-z0-9_-]{{16,64}})$")
#: States a refused request must not overwrite: the device's certificate is fine, or was revoked on purpose.
_SETTLED_STATES = frozenset({CertificateState.ISSUED, CertificateState.RENEWAL_DUE, CertificateState.REVOKED})
#: What a refusal's detail keeps of a name the request asked for, and how many of its SANs (a challenge
#: holder chooses them: the event log and the device state stay bounded).
_DETAIL_NAME_MAX = 512
_DETAIL_SANS_MAX = 20


def _refused(text: str, reason_code: str, diagnostic_code: int | None = None) -> EnrollmentRefused:
    return EnrollmentRefused(
        FailInfo.BAD_REQUEST, text, reason_code=reason_code, diagnostic_code=diagnostic_code
    )


def challenge_verify(
    *,
    challenge: str,
    csr: x509.CertificateSigningRequest,
    authority: CertificateAuthority,
    service: ScepService | None = None,
) -> ChallengeGrant | None:
    """None when ``challenge`` is not ours; EnrollmentRefused when it is and does not authorise this."""
    match = _FORMAT.match(challenge)
    if match is None:
        return None
    record = (
        DeviceChallenge.objects.select_related(
            "device", "user", "profile", "profile__template", "profile__authority"
        )
        .filter(id=uuid.UUID(match.group(1)))
        .first()
    )
    if record is None or not constant_time_compare(challenge_digest(match.group(2)), record.secret_digest):
        metrics.challenge_refused(reason="ChallengeDeserializationError")
        raise _refused(
            "the challenge cannot be validated; get a new one by checking in",
            "ChallengeDeserializationError",
            DiagnosticCode.CRP_SCEP_DESERIALIZE_FAILED,
        )
    try:
        _check(record, csr, authority)
        if service is not None and not _serves(record.scep_server_paths, service):
            raise _refused(
                f"the challenge was issued for the profile's SCEP servers "
                f"({', '.join(record.scep_server_paths) or 'none'}), not for SCEP service {service.slug}",
                "ScepServiceMismatch",
            )
    except EnrollmentRefused as refusal:
        metrics.challenge_refused(reason=refusal.reason_code)
        _record_refusal(record, refusal)
        refusal.holder = {
            "device_id": record.device_id,
            "device_external_id": record.device.external_id,
            "user_id": record.user_id,
            "user_principal_name": record.user.user_principal_name if record.user is not None else "",
        }
        raise
    profile = record.profile
    return ChallengeGrant(
        authorization=Authorization.ONE_TIME_CHALLENGE,
        subject=name_from_json(record.subject_json),
        sans=tuple(general_name_from_json(item) for item in record.sans_json),
        template=profile.template,
        authority=profile.authority,
        validity_days=record.validity_days,
        sid=record.sid,
        challenge_id=record.id,
        device_id=record.device_id,
        device_external_id=record.device.external_id,
        user_id=record.user_id,
        user_principal_name=record.user.user_principal_name if record.user is not None else "",
        key_usage=RequestedKeyUsage(
            digital_signature=profile.key_usage_digital_signature,
            key_encipherment=profile.key_usage_key_encipherment,
        ),
        extended_key_usages=tuple(str(item["oid"]) for item in profile.extended_key_usages),
    )


def _record_refusal(record: DeviceChallenge, refusal: EnrollmentRefused) -> None:
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
        reason=f"SCEP request refused: {refusal.admin_text}",
        diagnostic_code=refusal.diagnostic_code,
    )


def _serves(paths: list[str], service: ScepService) -> bool:
    """Whether one of a profile's SCEP server URL paths is ``service``: /scep/<slug> names it, the paths of
    the default service (/scep, /certsrv/mscep/mscep.dll, /cgi-bin/pkiclient.exe) name the default one.
    """
    for path in paths:
        try:
            match = resolve(path)
        except Resolver404:
            continue
        view_class = getattr(match.func, "view_class", None)
        if view_class is None or view_class.__name__ != "ScepView":  # another page: not a SCEP server
            continue
        slug = match.kwargs.get("slug")
        if slug == service.slug or (slug is None and service.is_default):
            return True
    return False


def _check(
    record: DeviceChallenge, csr: x509.CertificateSigningRequest, authority: CertificateAuthority
) -> None:
    now = timezone.now()
    if record.consumed_at is not None:
        raise _refused("the challenge has already been used", "ChallengeAlreadyUsed")
    if record.is_expired(now):
        raise _refused(
            "request denied due to expired certificate challenge; check in again for a new one",
            "ChallengeExpired",
            DiagnosticCode.CRP_SCEP_CHALLENGE_EXPIRED,
        )
    device, profile = record.device, record.profile
    if device.state != DeviceState.ACTIVE:
        raise _refused(f"the device is {device.get_state_display().lower()}", "BadDeviceIdInChallenge")
    if record.profile_version != profile.version:
        raise _refused(
            f"the SCEP profile changed since the challenge was issued (version {record.profile_version}, "
            f"now {profile.version}); check in again for a new one",
            "ScepProfileVersionMismatch",
        )
    applied = {a.profile.pk for a in profile_resolve_for_device(device=device).scep_profiles if not a.problem}
    if profile.pk not in applied:
        raise _refused(
            "the SCEP profile is no longer assigned to this device", "ScepProfileNoLongerTargetedToTheClient"
        )
    if profile.authority_id != authority.pk:
        raise _refused(
            f"the profile's certificates come from CA {profile.authority}, not from this SCEP service's CA",
            "BadCertificateRequestIdInChallenge",
        )
    if canonical_subject(csr.subject) != record.canonical_subject:
        raise _subject_mismatch(record, csr.subject)
    try:
        requested = list(csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).value)
    except x509.ExtensionNotFound:
        requested = []
    except ValueError as exc:
        raise _refused(f"the request's extensions cannot be parsed: {exc}", "SubjectAltNameMismatch") from exc
    if list(canonical_sans(requested)) != list(record.canonical_sans):
        raise _sans_mismatch(record, requested)
    key = csr.public_key()
    if not isinstance(key, rsa.RSAPublicKey) or key.key_size != record.key_size:
        size = key.key_size if isinstance(key, rsa.RSAPublicKey) else type(key).__name__
        raise _refused(
            f"the request's key ({size}) is not the RSA {record.key_size}-bit key the profile asks for",
            "KeyLengthMismatch",
        )


def _cut(text: str, limit: int = _DETAIL_NAME_MAX) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _subject_mismatch(record: DeviceChallenge, received: x509.Name) -> EnrollmentRefused:
    """The device is told that its subject is not the challenge's; the administrator, which one was.

    Subjects in RFC 4514 (last RDN first). The same attributes in another order (OU before CN where the
    profile says CN first) are a mismatch too, named as such.
    """
    expected = name_from_json(record.subject_json)
    received_text = _cut(received.rfc4514_string())
    detail = f"expected subject {expected.rfc4514_string()}, received {received_text}"
    if sorted(canonical_subject(x509.Name([rdn])) for rdn in received.rdns) == sorted(
        canonical_subject(x509.Name([rdn])) for rdn in expected.rdns
    ):
        detail += " (the same attributes in another order: the RDNs must come in the profile's order)"
    refusal = _refused(
        f"subject name in the request ({received_text}) does not match the challenge's", "SubjectNameMismatch"
    )
    refusal.admin_detail = detail
    refusal.admin_fields = {"expected_subject": expected.rfc4514_string(), "received_subject": received_text}
    return refusal


def _sans_mismatch(record: DeviceChallenge, requested: list[x509.GeneralName]) -> EnrollmentRefused:
    """As ``_subject_mismatch``, for the subject alternative names (compared as a set)."""
    expected = [general_name_to_text(general_name_from_json(item)) for item in record.sans_json]
    received = [_cut(general_name_to_text(name), 256) for name in requested[:_DETAIL_SANS_MAX]]
    if len(requested) > _DETAIL_SANS_MAX:
        received.append(f"... {len(requested) - _DETAIL_SANS_MAX} more")
    refusal = _refused(
        "subject alternative names in the request do not match the challenge's", "SubjectAltNameMismatch"
    )
    refusal.admin_detail = (
        f"expected subject alternative names {', '.join(expected) or '(none)'}, "
        f"received {', '.join(received) or '(none)'}"
    )
    refusal.admin_fields = {"expected_sans": expected, "received_sans": received}
    return refusal


def challenge_consume(*, challenge_id: uuid.UUID) -> None:
    """Mark the challenge used, atomically: of two requests racing with it, one wins."""
    updated = DeviceChallenge.objects.filter(pk=challenge_id, consumed_at__isnull=True).update(
        consumed_at=timezone.now()
    )
    if not updated:
        metrics.challenge_refused(reason="ChallengeAlreadyUsed")
        raise _refused("the challenge has already been used", "ChallengeAlreadyUsed")
    metrics.challenge_used()
    record = DeviceChallenge.objects.select_related("device", "profile").get(pk=challenge_id)
    device_state_set(device=record.device, profile=record.profile, state=CertificateState.ISSUE_PENDING)


#: The end of every renewal refusal: what the device does about it.
_ENROLL_AFRESH = "the device must check in and enroll afresh"


def _holder(binding: DeviceCertificate, user: DirectoryUser | None) -> dict[str, str | int | None]:
    return {
        "device_id": binding.device_id,
        "device_external_id": binding.device.external_id,
        "user_id": user.pk if user is not None else None,
        "user_principal_name": user.user_principal_name if user is not None else "",
    }


def _certificate_sans(certificate: x509.Certificate) -> list[x509.GeneralName]:
    try:
        return list(certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value)
    except x509.ExtensionNotFound:
        return []


def _renewal_problem(
    binding: DeviceCertificate, certificate: IssuedCertificate, challenge: DeviceChallenge | None
) -> tuple[str, str] | None:
    """Why the device's certificate may not be renewed now, with the validator's reason; None if it may."""
    device, profile = binding.device, binding.profile
    if device.state != DeviceState.ACTIVE:
        return f"the device is {device.get_state_display().lower()}", "BadDeviceIdInChallenge"
    if profile is None:
        return "the certificate's SCEP profile was deleted", "ScepProfileNoLongerTargetedToTheClient"
    if challenge is not None and challenge.profile_version != profile.version:
        return (
            "the SCEP profile changed since the certificate was enrolled "
            f"(version {challenge.profile_version}, now {profile.version})",
            "ScepProfileVersionMismatch",
        )
    users = [challenge.user if challenge is not None else None]
    if profile.certificate_type == CertificateType.USER:
        users.append(device.primary_user)
    for user in users:
        if user is not None and not user.enabled:
            return f"user {user.user_principal_name} is disabled", "UserDisabled"
    applied = {a.profile.pk for a in profile_resolve_for_device(device=device).scep_profiles if not a.problem}
    if profile.pk not in applied:
        return (
            "the SCEP profile is no longer assigned to this device",
            "ScepProfileNoLongerTargetedToTheClient",
        )
    try:
        rendered = scep_profile_render(profile=profile, device=device)
    except RenderError as exc:
        return f"the profile no longer renders for this device: {exc}", "SubjectNameMismatch"
    issued = certificate.certificate
    if canonical_subject(issued.subject) != rendered.canonical_subject:
        return (
            f"the certificate's subject ({issued.subject.rfc4514_string()}) is no longer what the profile "
            f"gives this device ({rendered.subject.rfc4514_string()})",
            "SubjectNameMismatch",
        )
    if canonical_sans(_certificate_sans(issued)) != rendered.canonical_sans:
        return (
            "the certificate's subject alternative names are no longer what the profile gives this device",
            "SubjectAltNameMismatch",
        )
    sid = mapping_sid(profile=profile, device=device) if profile.include_sid_extension else ""
    if certificate.request is not None and certificate.request.sid != sid:
        return "the certificate's SID is no longer the one its profile maps to", "SubjectAltNameMismatch"
    return None


def renewal_verify(
    *, certificate: IssuedCertificate, origin_challenge_id: uuid.UUID | None
) -> ChallengeGrant | None:
    """None when ``certificate`` is not a device's; EnrollmentRefused when it may not be renewed now."""
    binding = (
        DeviceCertificate.objects.select_related("device__primary_user", "profile")
        .filter(certificate=certificate)
        .first()
    )
    if binding is None:
        return None
    challenge = (
        DeviceChallenge.objects.select_related("user").filter(pk=origin_challenge_id).first()
        if origin_challenge_id is not None
        else None
    )
    user = challenge.user if challenge is not None and challenge.user is not None else None
    if (
        user is None
        and binding.profile is not None
        and binding.profile.certificate_type == CertificateType.USER
    ):
        user = binding.device.primary_user
    problem = _renewal_problem(binding, certificate, challenge)
    if problem is not None:
        text, reason_code = problem
        refusal = _refused(f"renewal refused: {text}; {_ENROLL_AFRESH}", reason_code)
        refusal.holder = _holder(binding, user)
        raise refusal
    return ChallengeGrant(
        authorization=Authorization.RENEWAL,
        subject=certificate.certificate.subject,
        sans=tuple(_certificate_sans(certificate.certificate)),
        renewed_certificate_id=certificate.pk,
        device_id=binding.device_id,
        device_external_id=binding.device.external_id,
        user_id=user.pk if user is not None else None,
        user_principal_name=user.user_principal_name if user is not None else "",
    )


class OneTimeChallengeVerifier(ChallengeVerifier):
    """The per-device one-time challenge that profile check-in issues."""

    def verify(
        self, *, service: ScepService, challenge: str, csr: x509.CertificateSigningRequest
    ) -> ChallengeGrant | None:
        if not service.accept_one_time_challenges:
            return None
        return challenge_verify(challenge=challenge, csr=csr, authority=service.authority, service=service)

    def renewal_verify(
        self,
        *,
        service: ScepService,
        certificate: IssuedCertificate,
        csr: x509.CertificateSigningRequest,
        origin: ScepTransaction | None,
    ) -> ChallengeGrant | None:
        return renewal_verify(
            certificate=certificate, origin_challenge_id=origin.challenge_id if origin is not None else None
        )

    def consume(self, grant: ChallengeGrant) -> None:
        if grant.challenge_id is not None:
            challenge_consume(challenge_id=grant.challenge_id)

    def notifies(self, transaction: ScepTransaction) -> bool:
        return transaction.challenge_id is not None or transaction.renewed_certificate_id is not None

    def notify(self, transaction: ScepTransaction) -> None:
        """The enrollment's outcome: the device's certificate binding and state, for a one-time challenge
        or for a renewal of a certificate a device holds.
        """
        certificate: IssuedCertificate | None = transaction.certificate
        succeeded = transaction.status == TransactionStatus.SUCCESS and certificate is not None
        outcome = transaction.fail_info_text or "the request failed"
        if transaction.challenge_id is not None:
            record = (
                DeviceChallenge.objects.select_related("device", "profile")
                .filter(pk=transaction.challenge_id)
                .first()
            )
            if record is None:
                return
            if succeeded and certificate is not None:
                device_enrollment_succeeded(
                    device=record.device, profile=record.profile, certificate=certificate
                )
            else:
                device_enrollment_failed(device=record.device, profile=record.profile, reason=outcome)
        elif transaction.renewed_certificate_id is not None:
            binding = (
                DeviceCertificate.objects.select_related("device", "profile", "certificate")
                .filter(certificate_id=transaction.renewed_certificate_id)
                .first()
            )
            if binding is None or binding.profile is None:
                return
            if succeeded and certificate is not None:
                device_enrollment_succeeded(
                    device=binding.device,
                    profile=binding.profile,
                    certificate=certificate,
                    reason=f"renewed certificate {binding.certificate.serial}",
                )
            else:
                device_enrollment_failed(
                    device=binding.device, profile=binding.profile, reason=f"renewal failed: {outcome}"
                )
