"""RA certificates, their renewal, and SCEP services.

The RA key is generated here, on the RA side, and never leaves it: the CA only signs its CSR through
the ordinary request queue (the ``ca`` queue in production). Renewal makes a new key pair and certificate
the same way; the services switch to the new RA, and GetCACert serves it from then on.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa

from django.db import transaction
from django.utils import timezone

from ca.choices import CertificateRequestStatus, TemplatePurpose
from ca.constants import OID_CERTIFICATE_REQUEST_AGENT
from ca.crypto.serials import serial_to_hex
from ca.models import CertificateAuthority, CertificateTemplate, IssuedCertificate
from ca.selectors import certificate_get_by_fingerprint
from ca.services.submission import certificate_request_submit, certificate_request_wait
from core.exceptions import ApplicationError
from core.services import model_update
from enrollment.conf import enrollment_settings
from enrollment.models import RegistrationAuthority, ScepService
from enrollment.ra import ra_key_encrypt
from enrollment.validators import static_san_types_default
from enrollment.verifiers.static import static_challenge_digest
from eventlog.choices import DiagnosticCode, EventId, EventLevel
from eventlog.services import EventLinks, event_record

__all__ = [
    "RA_TEMPLATE_NAME",
    "registration_authority_create",
    "registration_authority_renew",
    "registration_authority_renew_due",
    "registration_authority_template",
    "scep_service_create",
    "scep_service_set_static_challenge",
    "scep_service_set_static_policy",
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


def registration_authority_renew(
    *, registration_authority: RegistrationAuthority, wait: float = 60.0
) -> RegistrationAuthority:
    """A new key pair and certificate for the RA (same CA, name, subject and key size), signed by the CA
    worker through the ordinary request queue; every SCEP service that used the old RA uses the new one.

    The old row stays: transactions answered with it, and GetNextCACert rollovers, may still name it.
    """
    old = registration_authority
    key = old.certificate.public_key()
    if not isinstance(key, rsa.RSAPublicKey):  # pragma: no cover - RA keys are RSA (created above)
        raise ApplicationError("the RA certificate has no RSA key", code="ra_key_invalid")
    new = registration_authority_create(
        authority=old.authority,
        name=old.name,
        subject=old.certificate.subject,
        key_size=key.key_size,
        wait=wait,
    )
    ScepService.objects.filter(registration_authority=old).update(
        registration_authority=new, updated_at=timezone.now()
    )
    logger.info(
        "renewed RA %s: certificate %s replaces %s", old.name, new.fingerprint_sha1, old.fingerprint_sha1
    )
    return new


def registration_authority_renew_due(*, wait: float = 60.0) -> list[RegistrationAuthority]:
    """The RA renewal job: renew the RA of every enabled SCEP service with less than
    ``CERTPORTAL_RA_RENEWAL_THRESHOLD`` of its certificate's lifetime left (or expired); return the new RAs.

    Recorded as the connector records its enrollment certificate: 10100 renewed, 10102 not (0x00000405 if
    it has expired, else 0x0FFFFFFF; tried again on the next run); 10302 for a certificate that cannot be
    read (0x00000404, not renewed: create a new RA) or has expired (0x00000405); 10301 when its thumbprint
    is not among its CA's issued certificates (0x00000403).
    """
    threshold = enrollment_settings().RA_RENEWAL_THRESHOLD
    renewed: list[RegistrationAuthority] = []
    due = RegistrationAuthority.objects.filter(services__enabled=True).distinct().select_related("authority")
    for ra in due:
        services = sorted(ra.services.values_list("slug", flat=True))
        links = EventLinks(
            service_slug=services[0] if len(services) == 1 else "",
            authority_slug=ra.authority.slug,
            ca_name=ra.authority.name,
            thumbprint=ra.fingerprint_sha1,
        )
        about = {"registration_authority": ra.name, "registration_authority_id": ra.pk, "services": services}
        try:
            certificate = ra.certificate
        except ValueError as exc:
            event_record(
                event_id=EventId.RETRIEVE_CERTIFICATE_ERROR,
                level=EventLevel.ERROR,
                message=f"the RA certificate of {', '.join(services)} cannot be read: {exc}",
                diagnostic_code=DiagnosticCode.CERTIFICATE_NOT_FOUND,
                details=about,
                **links,
            )
            continue
        issued = certificate_get_by_fingerprint(fingerprint_sha256=ra.fingerprint_sha256)
        if issued is None or issued.authority_id != ra.authority_id:
            event_record(
                event_id=EventId.RETRIEVE_CERTIFICATE_WARNING,
                level=EventLevel.WARNING,
                message=f"the RA certificate {ra.fingerprint_sha1} is not among CA {ra.authority.slug}'s "
                "issued certificates",
                diagnostic_code=DiagnosticCode.CERT_THUMBPRINT_NOT_FOUND,
                details=about,
                **links,
            )
        now = timezone.now()
        not_before, not_after = certificate.not_valid_before_utc, certificate.not_valid_after_utc
        expired = not_after <= now
        if expired:
            event_record(
                event_id=EventId.RETRIEVE_CERTIFICATE_ERROR,
                level=EventLevel.ERROR,
                message=f"the RA certificate of {', '.join(services)} expired on "
                f"{not_after:%Y-%m-%d %H:%M} UTC",
                diagnostic_code=DiagnosticCode.CERTIFICATE_EXPIRED,
                details=about,
                **links,
            )
        elif (not_after - now) >= (not_after - not_before) * threshold:
            continue
        try:
            new = registration_authority_renew(registration_authority=ra, wait=wait)
        except Exception as exc:  # one RA's failure must not stop the others' renewal; recorded, retried
            logger.exception("could not renew RA %s", ra.name)
            event_record(
                event_id=EventId.CERTIFICATE_RENEWAL_FAILURE,
                level=EventLevel.ERROR,
                message=f"the RA certificate of {', '.join(services)} could not be renewed: {exc}",
                diagnostic_code=DiagnosticCode.CERTIFICATE_EXPIRED
                if expired
                else DiagnosticCode.UNKNOWN_ERROR,
                details={**about, "error": type(exc).__name__},
                **links,
            )
            continue
        links.update(
            EventLinks(serial=serial_to_hex(new.certificate.serial_number), thumbprint=new.fingerprint_sha1)
        )
        event_record(
            event_id=EventId.CERTIFICATE_RENEWAL_SUCCESS,
            message=f"renewed the RA certificate of {', '.join(services)}: {new.fingerprint_sha1} until "
            f"{new.not_after:%Y-%m-%d}",
            diagnostic_code=DiagnosticCode.SUCCESS,
            details={
                **about,
                "previous_thumbprint": ra.fingerprint_sha1,
                "registration_authority_id": new.pk,
            },
            **links,
        )
        renewed.append(new)
    return renewed


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
    static_subject_from_request: bool = True,
    static_san_types: Sequence[str] | None = None,
    static_subject_pattern: str = "",
    is_default: bool = False,
) -> ScepService:
    """A SCEP service; ``static_*`` limit what a static-challenge request may ask for (``ScepService``).

    Raises django's ValidationError for invalid static-challenge settings (an unsafe subject pattern, a
    UPN among the SAN types, ...).
    """
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
        static_subject_from_request=static_subject_from_request,
        static_san_types=list(static_san_types)
        if static_san_types is not None
        else static_san_types_default(),
        static_subject_pattern=static_subject_pattern,
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


def scep_service_set_static_policy(
    *,
    service: ScepService,
    subject_from_request: bool | None = None,
    san_types: Sequence[str] | None = None,
    subject_pattern: str | None = None,
) -> ScepService:
    """Change what a static-challenge request may ask for; None leaves a setting as it is.

    Raises django's ValidationError for an invalid value (nothing is saved then).
    """
    data: dict[str, object] = {}
    if subject_from_request is not None:
        data["static_subject_from_request"] = subject_from_request
    if san_types is not None:
        data["static_san_types"] = list(san_types)
    if subject_pattern is not None:
        data["static_subject_pattern"] = subject_pattern
    return model_update(
        instance=service,
        data=data,
        fields=("static_subject_from_request", "static_san_types", "static_subject_pattern"),
    ).instance
