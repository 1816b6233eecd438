"""Revocation and CRLs, on the CA worker (the CRL is signed with the CA key).

A revocation request is carried out in one database transaction: its certificates are marked revoked
(a certificate revoked already keeps its first revocation) and a new CRL is published for every CA that
revoked one, so that the CRL and the certificate rows (which OCSP reads) change at the same commit. Once
it has committed, the certificate observers are told (``ca.observers``).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator, Sequence
from typing import Any

from cryptography.hazmat.primitives.serialization import Encoding

from django.db import DatabaseError, transaction
from django.db.models import Max
from django.utils import timezone

from ca.choices import RevocationOutcome, RevocationReason, RevocationRequestStatus
from ca.crypto.crl import RevokedEntry, crl_builder
from ca.key_backends import KeyBackendUnavailable, key_backends
from ca.models import (
    CertificateAuthority,
    CertificateRevocationList,
    IssuedCertificate,
    RevocationRequest,
    RevocationRequestItem,
)
from ca.observers import certificate_observers
from core.exceptions import ApplicationError
from eventlog.choices import DiagnosticCode, EventId, EventLevel
from eventlog.services import event_record

__all__ = ["certificate_revoke", "crl_generate", "crl_refresh", "revocation_request_execute"]

logger = logging.getLogger(__name__)

#: Rows per fetch when reading a CRL's entries (a server-side cursor on PostgreSQL).
_CRL_BATCH = 10_000


def _revoke(
    certificates: Sequence[IssuedCertificate], reason: RevocationReason, now: dt.datetime
) -> list[IssuedCertificate]:
    """Mark the (row-locked) certificates revoked; return those that were not revoked before."""
    revoked = []
    for certificate in certificates:
        if certificate.revoked_at is not None:
            continue
        certificate.revoked_at = now
        certificate.revocation_reason = reason.value
        certificate.save(update_fields=["revoked_at", "revocation_reason", "updated_at"])
        revoked.append(certificate)
    return revoked


def _publish(revoked: Sequence[IssuedCertificate]) -> None:
    """One new CRL for each CA that revoked a certificate (in the caller's transaction)."""
    authority_ids = sorted({certificate.authority_id for certificate in revoked})
    for authority in CertificateAuthority.objects.filter(pk__in=authority_ids).order_by("pk"):
        crl_generate(authority=authority)


def _revocation_links(item: RevocationRequestItem, certificate: IssuedCertificate) -> dict[str, Any]:
    """What the event log links a revocation to: the CA, the serial and thumbprint, and the holder the
    requester knew of (device and user, from the certificate observers).
    """
    context = item.context or {}
    links: dict[str, Any] = {
        "authority_slug": certificate.authority.slug,
        "ca_name": certificate.authority.name,
        "serial": certificate.serial,
        "thumbprint": certificate.fingerprint_sha1,
        "template_name": certificate.template.name,
    }
    for name in ("device_id", "device_external_id", "user_id", "user_principal_name"):
        value = context.get(name)
        if value not in (None, ""):
            links[name] = value
    return links


def _record(request: RevocationRequest, revoked_ids: set[int], failure: str | None = None) -> None:
    """20200 RevokeCert_Success for each certificate revoked, or 20202 RevokeCert_Failure (0x00000400: the CA
    could not sign the CRL) for each of a request that could not be carried out.
    """
    items = request.items.select_related("certificate__authority", "certificate__template")
    for item in items:
        certificate = item.certificate
        links = _revocation_links(item, certificate)
        if failure is not None:
            event_record(
                event_id=EventId.REVOKE_CERT_FAILURE,
                level=EventLevel.ERROR,
                message=f"revocation of {certificate.serial} ({request.get_cause_display().lower()}) "
                f"failed: {failure}",
                diagnostic_code=DiagnosticCode.PKCS_ISSUE_CA_UNAVAILABLE,
                details={"revocation_request": request.pk, "cause": request.cause, "reason": request.reason},
                **links,
            )
        elif item.certificate_id in revoked_ids:
            event_record(
                event_id=EventId.REVOKE_CERT_SUCCESS,
                message=f"revoked certificate {certificate.serial} of CA {certificate.authority.name}: "
                f"{request.get_cause_display().lower()} ({request.get_reason_display().lower()})",
                diagnostic_code=DiagnosticCode.SUCCESS,
                details={
                    "revocation_request": request.pk,
                    "cause": request.cause,
                    "reason": request.reason,
                    "requested_by": request.requested_by,
                },
                **links,
            )


def revocation_request_execute(*, request_id: int) -> RevocationRequest:
    """Carry out a queued revocation request; idempotent (a done request is returned as it is).

    When the CA cannot carry it out (its key cannot be loaded to sign the CRL), nothing changes, the request
    stays queued for the sweep to send again, its failure reason says why and 20202 is recorded.
    """
    try:
        request = _execute(request_id)
    except (KeyBackendUnavailable, DatabaseError) as exc:
        with transaction.atomic():
            RevocationRequest.objects.filter(pk=request_id, status=RevocationRequestStatus.QUEUED).update(
                failure_reason=str(exc)[:2000], updated_at=timezone.now()
            )
        _record(RevocationRequest.objects.get(pk=request_id), set(), failure=str(exc))
        raise
    return request


def _execute(request_id: int) -> RevocationRequest:
    with transaction.atomic():
        request = RevocationRequest.objects.select_for_update().get(pk=request_id)
        if request.status != RevocationRequestStatus.QUEUED:
            return request
        items = list(request.items.all())
        certificates = list(
            IssuedCertificate.objects.select_for_update()
            .filter(pk__in=[item.certificate_id for item in items])
            .order_by("pk")
        )
        now = timezone.now()
        revoked = _revoke(certificates, RevocationReason(request.reason), now)
        revoked_ids = {certificate.pk for certificate in revoked}
        for item in items:
            item.outcome = (
                RevocationOutcome.REVOKED
                if item.certificate_id in revoked_ids
                else RevocationOutcome.ALREADY_REVOKED
            )
            item.save(update_fields=["outcome"])
        _publish(revoked)
        request.status = RevocationRequestStatus.DONE
        request.completed_at = now
        request.failure_reason = ""
        request.save(update_fields=["status", "completed_at", "failure_reason", "updated_at"])
    _record(request, revoked_ids)
    logger.info(
        "revocation request %s (%s): %s certificate(s) revoked, %s already revoked",
        request.pk,
        request.cause,
        len(revoked_ids),
        len(items) - len(revoked_ids),
    )
    for observer in certificate_observers.all():
        try:
            observer.certificates_revoked(request, sorted(revoked_ids))
        except (DatabaseError, ApplicationError, LookupError, ValueError):
            # An observer's bookkeeping must not undo a committed revocation; its sweep reconciles it.
            logger.exception("certificate observer %s failed for revocation request %s", observer, request.pk)
    return request


def certificate_revoke(
    *, certificate_id: int, reason: str, revoked_at: dt.datetime | None = None
) -> IssuedCertificate:
    """Revoke one certificate and publish a new CRL, on the CA side (management commands, tests).
    Idempotent: revoking twice keeps the first revocation. The RA side asks through a revocation request.
    """
    with transaction.atomic():
        certificate = IssuedCertificate.objects.select_for_update().get(pk=certificate_id)
        revoked = _revoke([certificate], RevocationReason(reason), revoked_at or timezone.now())
        _publish(revoked)
    if revoked:
        logger.info(
            "revoked certificate %s of CA %s (%s)", certificate.serial, certificate.authority_id, reason
        )
    return certificate


def crl_generate(*, authority: CertificateAuthority) -> CertificateRevocationList:
    """Sign and store a full CRL with the next CRL number. Safe to run twice (numbers only grow)."""
    backend = key_backends[authority.key_backend]
    backend.public_key(authority.key_reference)  # KeyBackendUnavailable before the CA row is locked
    with transaction.atomic():
        # Lock the CA row so that two workers never use the same CRL number.
        authority = CertificateAuthority.objects.select_for_update().get(pk=authority.pk)
        number = (authority.crls.aggregate(n=Max("number"))["n"] or 0) + 1
        now = timezone.now()
        next_update = min(now + dt.timedelta(hours=authority.crl_validity_hours), authority.not_after)
        if next_update <= now:
            next_update = now + dt.timedelta(hours=1)
        builder = crl_builder(
            issuer_certificate=authority.certificate,
            number=number,
            this_update=now,
            next_update=next_update,
            revoked=_crl_entries(authority, now),
        )
        crl = backend.sign_crl(authority.key_reference, builder, signature_hash=authority.signature_hash)
        record = CertificateRevocationList.objects.create(
            authority=authority,
            number=number,
            this_update=now,
            next_update=next_update,
            der=crl.public_bytes(Encoding.DER),
            revoked_count=len(crl),
        )
    logger.info("published CRL #%s of %s with %s entries", number, authority, len(crl))
    return record


def _crl_entries(authority: CertificateAuthority, now: dt.datetime) -> Iterator[RevokedEntry]:
    """The CRL's entries, read as three columns in batches (no certificate objects, no DER blobs)."""
    flags = {reason.value: reason.reason_flag for reason in RevocationReason}
    rows = (
        IssuedCertificate.objects.for_crl(authority_id=authority.pk, now=now)
        .order_by("revoked_at")
        .values_list("serial", "revoked_at", "revocation_reason")
    )
    for serial, revoked_at, reason in rows.iterator(chunk_size=_CRL_BATCH):
        if revoked_at is not None:
            yield RevokedEntry(serial=int(serial, 16), revoked_at=revoked_at, reason=flags[reason])


def crl_refresh(*, now: dt.datetime | None = None) -> list[CertificateRevocationList]:
    """Publish a new CRL for every enabled CA whose latest one is missing or past half its lifetime."""
    now = now or timezone.now()
    published = []
    for authority in CertificateAuthority.objects.filter(enabled=True, not_after__gt=now):
        latest = authority.crls.order_by("-number").first()
        if latest is None or now >= latest.this_update + (latest.next_update - latest.this_update) / 2:
            published.append(crl_generate(authority=authority))
    return published
