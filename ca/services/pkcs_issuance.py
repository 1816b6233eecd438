"""The CA worker's side of PKCS certificates (``ca.services.pkcs_requests`` has the RA's): generate the
key, check policy, issue through the ordinary request queue and keep only the encrypted PKCS#12.

Recorded as the connector's 20100 PkcsCertIssue_Success or 20102 PkcsCertIssue_Failure (0x00000400 when
the CA is disabled or expired, 0x0FFFFFFF for another refusal), with the holder the requester named
(device and user), the CA, the template and the certificate's serial and thumbprint.
"""

from __future__ import annotations

import logging

from cryptography.hazmat.primitives.serialization import Encoding

from django.db import transaction

from ca.choices import CertificateRequestStatus, PkcsRequestStatus
from ca.crypto.keys import KeySpec, spki_sha256
from ca.crypto.pkcs12 import device_key_csr, device_key_generate, pkcs12_build
from ca.exceptions import AuthorityUnavailable, PolicyViolation
from ca.models import CertificateRequest, PkcsRequest
from ca.services.issuance import certificate_issue
from ca.services.pkcs_requests import pkcs_delivery_password
from ca.services.submission import RequestedKeyUsage, certificate_request_check
from eventlog.choices import DiagnosticCode, EventId, EventLevel
from eventlog.services import EventLinks, event_record

__all__ = ["pkcs_certificate_issue"]

logger = logging.getLogger(__name__)


def _links(request: PkcsRequest, *, serial: str = "", thumbprint: str = "") -> EventLinks:
    links = EventLinks(
        authority_slug=request.authority.slug,
        ca_name=request.authority.name,
        template_name=request.template.name,
    )
    if serial:
        links["serial"] = serial
        links["thumbprint"] = thumbprint
    holder = request.holder or {}
    if isinstance(holder.get("device_id"), int):
        links["device_id"] = holder["device_id"]
    if isinstance(holder.get("user_id"), int):
        links["user_id"] = holder["user_id"]
    if isinstance(holder.get("device_external_id"), str):
        links["device_external_id"] = holder["device_external_id"]
    if isinstance(holder.get("user_principal_name"), str):
        links["user_principal_name"] = holder["user_principal_name"]
    return links


def _fail(request: PkcsRequest, reason: str, code: DiagnosticCode) -> PkcsRequest:
    request.status = PkcsRequestStatus.FAILED
    request.failure_reason = reason
    request.save(update_fields=["status", "failure_reason", "certificate_request", "updated_at"])
    logger.warning("PKCS request %s failed: %s", request.pk, reason)
    event_record(
        event_id=EventId.PKCS_CERT_ISSUE_FAILURE,
        level=EventLevel.ERROR,
        message=f"PKCS certificate not issued for request {request.pk}: {reason}",
        diagnostic_code=code,
        details={"pkcs_request_id": request.pk, "requester": request.requester, "key": request.key_spec},
        **_links(request),
    )
    return request


def pkcs_certificate_issue(*, request_id: int) -> PkcsRequest:
    """CA worker: generate the key, issue the certificate, keep the encrypted PKCS#12. Idempotent: a request
    that is no longer queued is returned as it is.
    """
    with transaction.atomic():
        request = (
            PkcsRequest.objects.select_for_update(of=("self",))
            .select_related("authority", "template")
            .get(pk=request_id)
        )
        if request.status != PkcsRequestStatus.QUEUED:
            return request
        authority, template = request.authority, request.template
        key = device_key_generate(KeySpec.parse(request.key_spec))
        csr = device_key_csr(key)
        key_usage = (
            RequestedKeyUsage(**{k: bool(v) for k, v in request.key_usage.items()})
            if request.key_usage
            else None
        )
        try:
            certificate_request_check(
                authority=authority,
                template=template,
                csr=csr,
                subject=request.subject_name,
                sans=request.subject_alternative_names,
                validity_days=request.validity_days,
                sid=request.sid,
                key_usage=key_usage,
                extended_key_usages=request.extended_key_usages,
            )
        except AuthorityUnavailable as exc:
            return _fail(request, str(exc), DiagnosticCode.PKCS_ISSUE_CA_UNAVAILABLE)
        except PolicyViolation as exc:
            return _fail(request, str(exc), DiagnosticCode.UNKNOWN_ERROR)
        if template.requires_approval:
            return _fail(
                request,
                f"template {template.name} requires CA certificate manager approval, which server-generated "
                "keys do not wait for",
                DiagnosticCode.UNKNOWN_ERROR,
            )
        certificate_request = CertificateRequest.objects.create(
            authority=authority,
            template=template,
            csr_der=csr.public_bytes(Encoding.DER),
            public_key_sha256=spki_sha256(key.public_key()),
            subject_json=request.subject_json,
            sans_json=request.sans_json,
            subject=request.subject,
            validity_days=request.validity_days,
            sid=request.sid,
            key_usage=request.key_usage,
            extended_key_usages=request.extended_key_usages,
            requester=f"pkcs:{request.requester}"[:255],
            status=CertificateRequestStatus.QUEUED,
        )
        request.certificate_request = certificate_request
        issued = certificate_issue(request_id=certificate_request.pk)
        if issued is None:  # refused at signing time; certificate_issue recorded why
            certificate_request.refresh_from_db()
            return _fail(
                request, certificate_request.failure_reason, DiagnosticCode.PKCS_ISSUE_CA_UNAVAILABLE
            )
        chain = [ca.certificate for ca in authority.chain()]
        request.pkcs12_der = pkcs12_build(
            key=key,
            certificate=issued.certificate,
            chain=chain,
            password=pkcs_delivery_password(request),
            friendly_name=issued.subject[:64],
        )
        request.certificate = issued
        request.status = PkcsRequestStatus.ISSUED
        request.save(
            update_fields=["pkcs12_der", "certificate", "certificate_request", "status", "updated_at"]
        )
        event_record(
            event_id=EventId.PKCS_CERT_ISSUE_SUCCESS,
            message=f"PKCS certificate {issued.serial} issued for request {request.pk} ({issued.subject})",
            diagnostic_code=DiagnosticCode.SUCCESS,
            details={"pkcs_request_id": request.pk, "requester": request.requester, "key": request.key_spec},
            **_links(request, serial=issued.serial, thumbprint=issued.fingerprint_sha1),
        )
    logger.info("PKCS request %s issued certificate %s", request.pk, issued.serial)
    return request
