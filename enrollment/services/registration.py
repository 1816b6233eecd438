"""RA certificates and SCEP services.

The RA key is generated here, on the RA side, and never leaves it: the CA only signs its CSR through
the ordinary request queue (the ``ca`` queue in production).
"""

from __future__ import annotations

import logging

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa

from django.db import transaction

from ca.choices import CertificateRequestStatus, TemplatePurpose
from ca.constants import OID_CERTIFICATE_REQUEST_AGENT
from ca.models import CertificateAuthority, CertificateTemplate, IssuedCertificate
from ca.services.submission import certificate_request_submit, certificate_request_wait
from core.exceptions import ApplicationError
from enrollment.models import RegistrationAuthority, ScepService
from enrollment.ra import ra_key_encrypt
from enrollment.verifiers.static import static_challenge_digest

__all__ = [
    "RA_TEMPLATE_NAME",
    "registration_authority_create",
    "registration_authority_template",
    "scep_service_create",
    "scep_service_set_static_challenge",
]

logger = logging.getLogger(__name__)

RA_TEMPLATE_NAME = "SCEPRegistrationAuthority"


def registration_authority_template() -> CertificateTemplate:
    """The RA certificates' template: signature + key encipherment, Certificate Request Agent EKU."""
    template, _ = CertificateTemplate.objects.get_or_create(
        name=RA_TEMPLATE_NAME,
        defaults={
            "display_name": "SCEP registration authority (NDES enrollment agent + CEP encryption)",
            "purpose": TemplatePurpose.SIGNATURE_AND_ENCRYPTION,
            "validity_days": 730,
            "digital_signature": True,
            "key_encipherment": True,
            "application_policies": [OID_CERTIFICATE_REQUEST_AGENT.dotted_string],
        },
    )
    return template


def registration_authority_create(
    *,
    authority: CertificateAuthority,
    name: str,
    subject: x509.Name,
    key_size: int = 2048,
    wait: float = 60.0,
) -> RegistrationAuthority:
    """Generate an RSA key pair, have ``authority`` certify it, keep the key encrypted (RA passphrase)."""
    if key_size not in (2048, 3072, 4096):
        raise ApplicationError(
            f"RA keys are RSA 2048, 3072 or 4096 bits, not {key_size}", code="key_size_invalid"
        )
    template = registration_authority_template()
    authority.published_templates.add(template)
    key = rsa.generate_private_key(public_exponent=65537, key_size=key_size)
    encrypted = ra_key_encrypt(key)  # fails early, before anything is issued, if there is no RA passphrase
    csr = x509.CertificateSigningRequestBuilder().subject_name(subject).sign(key, hashes.SHA256())
    request = certificate_request_submit(
        authority=authority, template=template, csr=csr, subject=subject, requester=f"ra:{name}"
    )
    request = certificate_request_wait(request=request, timeout=wait)
    if request.status != CertificateRequestStatus.ISSUED:
        raise ApplicationError(
            f"the CA did not issue the RA certificate (request {request.pk} is {request.status}"
            f"{': ' + request.failure_reason if request.failure_reason else ''}); is the CA worker running?",
            code="ra_not_issued",
        )
    issued = IssuedCertificate.objects.get(request=request)
    ra = RegistrationAuthority(
        authority=authority,
        name=name,
        certificate_pem=issued.pem,
        encrypted_key_pem=encrypted,
        fingerprint_sha1=issued.fingerprint_sha1,
        fingerprint_sha256=issued.fingerprint_sha256,
        not_after=issued.not_after,
    )
    ra.full_clean()
    ra.save()
    logger.info("created RA %s for CA %s (certificate %s)", name, authority, issued.serial)
    return ra


@transaction.atomic
def scep_service_create(
    *,
    slug: str,
    name: str,
    authority: CertificateAuthority,
    registration_authority: RegistrationAuthority,
    general_purpose_template: CertificateTemplate,
    signature_template: CertificateTemplate | None = None,
    encryption_template: CertificateTemplate | None = None,
    allow_legacy_algorithms: bool = False,
    static_challenge: str = "",
    is_default: bool = False,
) -> ScepService:
    if static_challenge and len(static_challenge) < 8:
        raise ApplicationError("a static challenge needs at least 8 characters", code="challenge_too_short")
    if registration_authority.authority_id != authority.pk:
        raise ApplicationError("the RA must be certified by the service's CA", code="ra_mismatch")
    for template in (general_purpose_template, signature_template, encryption_template):
        if template is not None:
            authority.published_templates.add(template)
    if is_default:
        ScepService.objects.filter(is_default=True).update(is_default=False)
    service = ScepService(
        slug=slug,
        name=name,
        authority=authority,
        registration_authority=registration_authority,
        general_purpose_template=general_purpose_template,
        signature_template=signature_template,
        encryption_template=encryption_template,
        allow_legacy_algorithms=allow_legacy_algorithms,
        static_challenge_digest=static_challenge_digest(static_challenge) if static_challenge else "",
        is_default=is_default,
    )
    service.full_clean()
    service.save()
    return service


def scep_service_set_static_challenge(*, service: ScepService, challenge: str) -> ScepService:
    """Set (or, with an empty string, disable) the service's static shared challenge."""
    if challenge and len(challenge) < 8:
        raise ApplicationError("a static challenge needs at least 8 characters", code="challenge_too_short")
    service.static_challenge_digest = static_challenge_digest(challenge) if challenge else ""
    service.save(update_fields=["static_challenge_digest", "updated_at"])
    return service
