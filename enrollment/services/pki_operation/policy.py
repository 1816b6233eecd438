"""What a PKCSReq or a RenewalReq may get (the policy module's VerifyRequest).

PKCSReq: the challenge verifiers grant exactly a subject, SANs, template and validity, or refuse; where a
static challenge lets the request supply its subject, the template must allow that. RenewalReq: the
renewal rules (``renewal_grant``) decide, from the certificate that signed the request.
"""

from __future__ import annotations

import datetime as dt

from cryptography import x509

from django.utils import timezone

from ca.crypto.canonical import names_equal
from ca.models import CertificateTemplate
from ca.selectors import certificate_get_by_fingerprint
from enrollment import scep
from enrollment.choices import Authorization
from enrollment.exceptions import EnrollmentRefused
from enrollment.models import ScepService
from enrollment.services.pki_operation.exchange import Exchange
from enrollment.verifiers.base import ChallengeGrant, ChallengeVerifier, challenge_verifiers

__all__ = ["enrollment_grant", "ndes_template", "renewal_grant"]


def enrollment_grant(
    exchange: Exchange, csr: x509.CertificateSigningRequest
) -> tuple[ChallengeVerifier, ChallengeGrant, CertificateTemplate]:
    """The verifier that grants this PKCSReq, its grant, and the template that issues it."""
    password = scep.challenge_password(csr)
    if not password:
        raise EnrollmentRefused(scep.FailInfo.BAD_REQUEST, "PKCSReq without a challengePassword")
    for verifier in challenge_verifiers.all():
        grant = verifier.verify(service=exchange.service, challenge=password, csr=csr)
        if grant is not None:
            break
    else:
        raise EnrollmentRefused(
            scep.FailInfo.BAD_REQUEST, "the challenge password is not valid for this SCEP service"
        )
    template = grant.template or ndes_template(exchange.service, csr)
    if grant.subject_from_request and not template.subject_supplied_in_request:
        raise EnrollmentRefused(
            scep.FailInfo.BAD_REQUEST,
            f"certificate template {template.name} does not let the request supply its subject; "
            "enroll with a device challenge from a SCEP profile",
        )
    return verifier, grant, template


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
    within the renewal window, and asks for that certificate's subject; the new certificate keeps the
    old one's identity (subject, SANs, template, CA, SID).
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
    return ChallengeGrant(
        authorization=Authorization.RENEWAL,
        subject=certificate.subject,
        sans=sans,
        template=current.template,
        authority=current.authority,
        sid=current.request.sid if current.request is not None else "",
        renewed_certificate_id=current.pk,
    )
