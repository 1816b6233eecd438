"""Signing: turn a queued request into a certificate. Runs on the CA worker (its key backend signs).

A request the CA refuses at signing time (disabled or expired since submission) is recorded as the
connector's 20102 PkcsCertIssue_Failure with 0x00000400 PKCS_Issue_CA_Unavailable.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding

from django.db import IntegrityError, transaction
from django.utils import timezone

from ca.choices import CertificateRequestStatus
from ca.constants import BACKDATE_SECONDS, MAX_SERIAL_ATTEMPTS
from ca.crypto.builders import EndEntitySpec, KeyUsageSpec, end_entity_certificate_builder
from ca.crypto.csr import load_csr
from ca.crypto.keys import spki_sha256
from ca.crypto.names import general_name_to_text
from ca.crypto.serials import random_serial, serial_to_hex
from ca.exceptions import RequestNotPending
from ca.key_backends import key_backends
from ca.models import CertificateAuthority, CertificateRequest, CertificateTemplate, IssuedCertificate
from eventlog.choices import DiagnosticCode, EventId, EventLevel
from eventlog.services import event_record

__all__ = ["certificate_extended_key_usages", "certificate_issue", "certificate_validity"]

logger = logging.getLogger(__name__)


def certificate_validity(
    *,
    authority: CertificateAuthority,
    template: CertificateTemplate,
    requested_days: int | None,
    now: dt.datetime,
) -> tuple[dt.datetime, dt.datetime]:
    """notBefore/notAfter: the template's period, or the requester's shorter one where the template
    allows it, never beyond the issuing CA's own notAfter (the reference's rule).
    """
    days = template.validity_days
    if requested_days is not None and template.allow_requester_validity:
        days = min(days, requested_days)
    not_before = max(now - dt.timedelta(seconds=BACKDATE_SECONDS), authority.not_before)
    not_after = min(now + dt.timedelta(days=days), authority.not_after)
    return not_before, not_after


def certificate_issue(
    *, request_id: int, on_issued: Callable[[IssuedCertificate], None] | None = None
) -> IssuedCertificate | None:
    """Issue the certificate for a queued request; idempotent (a re-run returns the same certificate).

    Returns None when the request failed at signing time (CA expired or disabled since submission);
    the request then carries the reason. ``on_issued`` is called with the certificate inside the
    transaction that stores it, so that what it writes (the CA worker's event) commits with it.

    One database transaction per certificate, without a savepoint: only the request's row is locked
    (``of=self``: not the CA's and the template's rows that are read with it, which would make every
    issuance of a CA wait for the one before). Serial numbers are random (159 bits) and kept unique by the
    (CA, serial) constraint: a serial that another certificate of the CA took meanwhile rolls the whole
    transaction back, and it is done again with a new serial, up to ``MAX_SERIAL_ATTEMPTS`` times.
    """
    for attempt in range(1, MAX_SERIAL_ATTEMPTS + 1):
        serial = random_serial()
        try:
            return _issue(request_id=request_id, serial=serial, on_issued=on_issued)
        except IntegrityError:
            requests = CertificateRequest.objects.filter(pk=request_id)
            authority_id = requests.values_list("authority_id", flat=True).first()
            if attempt == MAX_SERIAL_ATTEMPTS or not _serial_taken(authority_id, serial):
                raise
            logger.warning(
                "serial %s already used by CA %s; drawing another", serial_to_hex(serial), authority_id
            )
    raise AssertionError("unreachable")  # pragma: no cover - the last attempt returns or raises


def _issue(
    *, request_id: int, serial: int, on_issued: Callable[[IssuedCertificate], None] | None
) -> IssuedCertificate | None:
    with transaction.atomic():
        request = (
            CertificateRequest.objects.select_for_update(of=("self",))
            .select_related("authority", "template")
            .get(pk=request_id)
        )
        if request.status == CertificateRequestStatus.ISSUED:
            existing = IssuedCertificate.objects.select_related("authority", "template").get(request=request)
            if on_issued is not None:
                on_issued(existing)
            return existing
        if request.status != CertificateRequestStatus.QUEUED:
            raise RequestNotPending(f"request {request.pk} is {request.status}; nothing to issue")
        authority, template = request.authority, request.template
        now = timezone.now()
        refusal = _refusal(authority, now)
        if refusal:
            request.status = CertificateRequestStatus.FAILED
            request.failure_reason = refusal
            request.save(update_fields=["status", "failure_reason", "updated_at"])
            logger.warning("certificate request %s failed: %s", request.pk, refusal)
            event_record(  # in the request's transaction: it commits with the FAILED request
                event_id=EventId.PKCS_CERT_ISSUE_FAILURE,
                level=EventLevel.ERROR,
                message=f"certificate request {request.pk} not signed: {refusal}",
                diagnostic_code=DiagnosticCode.PKCS_ISSUE_CA_UNAVAILABLE,
                details={"request_id": request.pk, "requester": request.requester},
                authority_slug=authority.slug,
                ca_name=authority.name,
                template_name=template.name,
            )
            return None
        backend = key_backends[authority.key_backend]
        csr = load_csr(bytes(request.csr_der))
        not_before, not_after = certificate_validity(
            authority=authority, template=template, requested_days=request.validity_days, now=now
        )
        sans = request.subject_alternative_names
        builder = end_entity_certificate_builder(
            EndEntitySpec(
                public_key=csr.public_key(),
                subject=request.subject_name,
                sans=sans,
                serial=serial,
                not_before=not_before,
                not_after=not_after,
                key_usage=_key_usage(template, request, csr),
                extended_key_usages=certificate_extended_key_usages(template=template, request=request),
                crl_url=authority.crl_url,
                issuer_url=authority.issuer_url,
                ocsp_url=authority.ocsp_url,
                sid=request.sid or None,
                signature_hash=authority.signature_hash,
                ocsp_no_check=template.ocsp_no_check,
            ),
            issuer_certificate=authority.certificate,
        )
        certificate = backend.sign_certificate(
            authority.key_reference, builder, signature_hash=authority.signature_hash
        )
        issued = IssuedCertificate.objects.create(
            authority=authority,
            template=template,
            request=request,
            serial=serial_to_hex(serial),
            subject=certificate.subject.rfc4514_string(),
            sans=[general_name_to_text(name) for name in sans],
            not_before=certificate.not_valid_before_utc,
            not_after=certificate.not_valid_after_utc,
            fingerprint_sha1=certificate.fingerprint(hashes.SHA1()).hex().upper(),  # noqa: S303
            fingerprint_sha256=certificate.fingerprint(hashes.SHA256()).hex().upper(),
            public_key_sha256=spki_sha256(csr.public_key()),
            der=certificate.public_bytes(Encoding.DER),
        )
        request.status = CertificateRequestStatus.ISSUED
        request.save(update_fields=["status", "updated_at"])
        if on_issued is not None:
            on_issued(issued)
    logger.info("issued certificate %s (%s) for request %s", issued.serial, issued.subject, request.pk)
    return issued


def certificate_extended_key_usages(
    *, template: CertificateTemplate, request: CertificateRequest
) -> tuple[str, ...]:
    """The template's application policies, or, when the request names EKUs, those the template also has
    (in the request's order): a certificate never carries an EKU its template does not allow.
    """
    if request.extended_key_usages is None:
        return tuple(template.application_policies)
    allowed = set(template.application_policies)
    return tuple(oid for oid in request.extended_key_usages if oid in allowed)


def _key_usage(
    template: CertificateTemplate, request: CertificateRequest, csr: x509.CertificateSigningRequest
) -> KeyUsageSpec:
    """The template's key usage, narrowed to what the request asks for (a SCEP profile's key usage); for an
    EC key, "key encipherment" becomes key agreement (RFC 5480 3).
    """
    asked = request.key_usage or {}
    signature = template.digital_signature and asked.get("digital_signature", True)
    encipherment = template.key_encipherment and asked.get("key_encipherment", True)
    elliptic = isinstance(csr.public_key(), ec.EllipticCurvePublicKey)
    return KeyUsageSpec(
        digital_signature=bool(signature),
        key_encipherment=bool(encipherment) and not elliptic,
        key_agreement=bool(encipherment) and elliptic,
        non_repudiation=template.non_repudiation,
    )


def _refusal(authority: CertificateAuthority, now: dt.datetime) -> str:
    if not authority.enabled:
        return f"CA {authority} is disabled"
    if authority.not_after <= now:
        return f"CA {authority} has expired"
    return ""


def _serial_taken(authority_id: int | None, serial: int) -> bool:
    return IssuedCertificate.objects.filter(authority_id=authority_id, serial=serial_to_hex(serial)).exists()
