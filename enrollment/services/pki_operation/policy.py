"""What a PKCSReq or a RenewalReq may get (the policy module's VerifyRequest).

PKCSReq: the challenge verifiers grant exactly a subject, SANs, template and validity, or refuse; where a
static challenge lets the request supply its subject, the template must allow that. RenewalReq: the
renewal rules (``renewal_grant``) decide, from the certificate that signed the request, and then every
verifier's ``renewal_verify``: a certificate that a verifier knows (a device's) is renewed only while what
it says still holds (the device active, its user enabled, the profile assigned and rendering the same
names); the others keep the renewal rules alone. A verifier's refusal is recorded (4005) with the device
and user it names.

A PKCSReq's challenge is recorded as the connector's Certificate Registration Point records it:
20500 CRPVerifyMetric_Success when a verifier grants it (with the device and user a one-time challenge
was issued for), 20501 when it is rejected (0x00000411 expired; else the validator's reason in the
details), 20502 when it cannot be verified at all (0x00000410: no such challenge, or a wrong secret).
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from cryptography import x509

from django.utils import timezone

from ca.crypto.canonical import names_equal
from ca.models import CertificateTemplate, IssuedCertificate
from ca.selectors import certificate_get_by_fingerprint
from ca.services.submission import RequestedKeyUsage
from enrollment import scep
from enrollment.choices import Authorization
from enrollment.exceptions import EnrollmentRefused
from enrollment.models import ScepService
from enrollment.selectors import scep_renewal_origin, scep_renewal_successor
from enrollment.services.pki_operation.exchange import Exchange
from enrollment.verifiers.base import ChallengeGrant, ChallengeVerifier, challenge_verifiers
from eventlog.choices import DiagnosticCode, EventId, EventLevel
from eventlog.services import EventLinks

__all__ = ["enrollment_grant", "ndes_template", "renewal_grant"]


def enrollment_grant(
    exchange: Exchange, csr: x509.CertificateSigningRequest
) -> tuple[ChallengeVerifier, ChallengeGrant, CertificateTemplate]:
    """The verifier that grants this PKCSReq, its grant, and the template that issues it."""
    password = scep.challenge_password(csr)
    if not password:
        missing = EnrollmentRefused(scep.FailInfo.BAD_REQUEST, "PKCSReq without a challengePassword")
        _record_rejected(exchange, missing)
        raise missing
    for verifier in challenge_verifiers.all():
        try:
            grant = verifier.verify(service=exchange.service, challenge=password, csr=csr)
        except EnrollmentRefused as refusal:
            _record_rejected(exchange, refusal)
            raise
        if grant is not None:
            break
    else:
        unknown = EnrollmentRefused(
            scep.FailInfo.BAD_REQUEST, "the challenge password is not valid for this SCEP service"
        )
        _record_rejected(exchange, unknown)
        raise unknown
    template = grant.template or ndes_template(exchange.service, csr)
    authority = grant.authority or exchange.service.authority
    exchange.links.update(
        EventLinks(
            device_id=grant.device_id,
            device_external_id=grant.device_external_id,
            user_id=grant.user_id,
            user_principal_name=grant.user_principal_name,
            authority_slug=authority.slug,
            ca_name=authority.name,
            template_name=template.name,
        )
    )
    exchange.record_later(  # written with the transaction the grant is used in
        event_id=EventId.CRP_VERIFY_SUCCESS,
        message=f"challenge verified ({Authorization(grant.authorization).label.lower()}) "
        f"by {type(verifier).__name__}",
        diagnostic_code=DiagnosticCode.SUCCESS,
    )
    if grant.subject_from_request and not template.subject_supplied_in_request:
        raise EnrollmentRefused(
            scep.FailInfo.BAD_REQUEST,
            f"certificate template {template.name} does not let the request supply its subject; "
            "enroll with a device challenge from a SCEP profile",
        )
    return verifier, grant, template


#: Refusals that mean the challenge could not be verified at all (20502), not that it was rejected (20501).
_UNVERIFIABLE = frozenset(
    {
        DiagnosticCode.CRP_SCEP_DESERIALIZE_FAILED,
        DiagnosticCode.CRP_SCEP_CERT_NOT_FOUND,
        DiagnosticCode.CRP_SCEP_SIGNING_CERT_NOT_FOUND,
    }
)


def _int_or_none(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _link_holder(exchange: Exchange, refusal: EnrollmentRefused) -> None:
    """The exchange's events name whom a refused request was for, when the verifier said."""
    if refusal.holder:
        exchange.links.update(
            EventLinks(
                device_id=_int_or_none(refusal.holder.get("device_id")),
                device_external_id=str(refusal.holder.get("device_external_id") or ""),
                user_id=_int_or_none(refusal.holder.get("user_id")),
                user_principal_name=str(refusal.holder.get("user_principal_name") or ""),
            )
        )


def _record_rejected(exchange: Exchange, refusal: EnrollmentRefused) -> None:
    """Record a refused challenge: 20501, or 20502 when it cannot be verified at all.

    The event has the verifier's detail for the administrator (``admin_text``, ``admin_fields``: e.g. the
    expected and the received subject), which the CertRep's failInfoText does not carry.
    """
    _link_holder(exchange, refusal)
    unverifiable = refusal.diagnostic_code in _UNVERIFIABLE
    exchange.record(
        event_id=EventId.CRP_VERIFY_FAILURE if unverifiable else EventId.CRP_VERIFY_WARNING,
        level=EventLevel.ERROR if unverifiable else EventLevel.WARNING,
        message=f"challenge {'not verified' if unverifiable else 'rejected'}: {refusal.admin_text}",
        diagnostic_code=refusal.diagnostic_code,
        fail_info=int(refusal.fail_info),
        details={**refusal.admin_fields, "reason": refusal.reason_code},
    )


def ndes_template(service: ScepService, csr: x509.CertificateSigningRequest) -> CertificateTemplate:
    """NDES's registry mapping: the key usage a request asks for picks the template.

    Signature only -> SignatureTemplate, encipherment only -> EncryptionTemplate, else
    GeneralPurposeTemplate. The request's key usage only chooses; the template decides what is issued.
    """
    try:
        usage = csr.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return service.general_purpose_template
    except ValueError as exc:
        raise EnrollmentRefused(
            scep.FailInfo.BAD_REQUEST, f"the request's extensions cannot be parsed: {exc}"
        ) from exc
    if usage.digital_signature and not usage.key_encipherment and service.signature_template is not None:
        return service.signature_template
    if usage.key_encipherment and not usage.digital_signature and service.encryption_template is not None:
        return service.encryption_template
    return service.general_purpose_template


def renewal_grant(exchange: Exchange, csr: x509.CertificateSigningRequest) -> ChallengeGrant:
    """The renewal rules: the request is signed by a current certificate that this service's CA issued,
    not renewed already (a renewed certificate is superseded), within the renewal window, and asks for
    that certificate's subject; the new certificate keeps the old one's identity (subject, SANs,
    template, CA, SID).
    """
    service = exchange.service
    if not service.allow_renewal:
        raise EnrollmentRefused(scep.FailInfo.BAD_REQUEST, "renewal is disabled on this SCEP service")
    current = certificate_get_by_fingerprint(fingerprint_sha256=exchange.signer_fingerprint_sha256)
    if current is None or current.authority_id != service.authority_id:
        raise EnrollmentRefused(
            scep.FailInfo.BAD_REQUEST, "RenewalReq must be signed by a certificate this CA issued"
        )
    now = timezone.now()
    if current.revoked_at is not None:
        raise EnrollmentRefused(scep.FailInfo.BAD_REQUEST, f"certificate {current.serial} is revoked")
    if current.not_after <= now:
        raise EnrollmentRefused(scep.FailInfo.BAD_REQUEST, f"certificate {current.serial} has expired")
    successor = scep_renewal_successor(certificate=current)
    if successor is not None:
        raise EnrollmentRefused(
            scep.FailInfo.BAD_REQUEST,
            f"certificate {current.serial} was renewed already (certificate {successor.serial}); "
            "renew with that one",
        )
    window = service.renewal_window_days
    if window and current.not_after - now > dt.timedelta(days=window):
        raise EnrollmentRefused(
            scep.FailInfo.BAD_REQUEST,
            f"renewal opens {window} days before expiry ({current.not_after:%Y-%m-%d}); too early",
        )
    certificate = current.certificate
    if not names_equal(csr.subject, certificate.subject):
        raise EnrollmentRefused(
            scep.FailInfo.BAD_REQUEST,
            "RenewalReq asks for a different subject than the certificate that signed it",
        )
    try:
        sans = tuple(certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value)
    except x509.ExtensionNotFound:
        sans = ()
    grant = ChallengeGrant(
        authorization=Authorization.RENEWAL,
        subject=certificate.subject,
        sans=sans,
        template=current.template,
        authority=current.authority,
        sid=current.request.sid if current.request is not None else "",
        renewed_certificate_id=current.pk,
        # The same key usage and EKUs as the certificate it renews was asked for.
        key_usage=RequestedKeyUsage(**current.request.key_usage)
        if current.request is not None and current.request.key_usage
        else None,
        extended_key_usages=tuple(current.request.extended_key_usages)
        if current.request is not None and current.request.extended_key_usages is not None
        else None,
    )
    return _renewal_verified(exchange, current, csr, grant)


def _renewal_verified(
    exchange: Exchange, current: IssuedCertificate, csr: x509.CertificateSigningRequest, grant: ChallengeGrant
) -> ChallengeGrant:
    """Ask every verifier about the renewed certificate; ``grant`` with the device and user of the first
    that knows it. Only those links are taken: a verifier cannot widen a renewal.
    """
    origin = scep_renewal_origin(certificate=current)
    holder: ChallengeGrant | None = None
    for verifier in challenge_verifiers.all():
        try:
            verified = verifier.renewal_verify(
                service=exchange.service, certificate=current, csr=csr, origin=origin
            )
        except EnrollmentRefused as refusal:
            _link_holder(exchange, refusal)
            raise
        holder = holder or verified
    if holder is None:
        return grant
    exchange.links.update(
        EventLinks(
            device_id=holder.device_id,
            device_external_id=holder.device_external_id,
            user_id=holder.user_id,
            user_principal_name=holder.user_principal_name,
        )
    )
    return dataclasses.replace(
        grant,
        device_id=holder.device_id,
        device_external_id=holder.device_external_id,
        user_id=holder.user_id,
        user_principal_name=holder.user_principal_name,
    )
