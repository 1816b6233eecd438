"""The ``ScepTransaction`` state machine: PENDING -> SUCCESS or FAILURE, answered from the stored state.

A request is identified by (service, transactionID, request key): a retransmission finds its
transaction and gets the stored answer, never a second certificate. A refused request is recorded as a
FAILURE transaction so that a retry gets the same answer. An accepted one is recorded with what
authorised it, handed to the CA in the same database transaction, and answered SUCCESS, PENDING or
FAILURE as the CA request stands; the first time a transaction is seen to succeed or fail, the
challenge verifiers are notified (the policy module's Notify): 20600 CRPNotifyMetric_Success when the
certificate goes to the device and every verifier recorded it, 20602 for a verifier that could not.

Anyone can make us record a refusal, so that record is bounded: never the CSR or the message (only their
SHA-256 and the signer key's), the subject cut to ``REFUSED_SUBJECT_MAX`` characters, the failInfo and its
text (512), the transactionID (128) and the client address; the retention job
(``enrollment.services.retention``) deletes it after ``CERTPORTAL_SCEP_REFUSED_RETENTION_DAYS``. Requests
that need approval are capped per client address, requested subject and service
(``CERTPORTAL_SCEP_PENDING_MAX_PER_*``), counted under a lock on the service's row (PostgreSQL; SQLite
writes one at a time); one more is a transient refusal, recorded as an event but not stored.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from contextlib import contextmanager

from cryptography import x509

from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone

from ca.choices import CertificateRequestStatus
from ca.exceptions import AuthorityUnavailable, PolicyViolation
from ca.models import CertificateAuthority, CertificateTemplate, IssuedCertificate
from ca.services.submission import certificate_request_submit, certificate_request_wait
from core.exceptions import ApplicationError
from enrollment import scep
from enrollment.choices import TransactionStatus
from enrollment.conf import enrollment_settings
from enrollment.exceptions import EnrollmentRefused
from enrollment.models import ScepService, ScepTransaction
from enrollment.selectors import (
    scep_transaction_find,
    scep_transaction_pending_approval,
    scep_transaction_pending_elsewhere,
)
from enrollment.services.pki_operation.exchange import EnrollmentRequest, Exchange, ScepReply
from enrollment.services.pki_operation.waiting import wait_slot
from enrollment.verifiers.base import ChallengeGrant, ChallengeVerifier, challenge_verifiers
from eventlog.choices import DiagnosticCode, EventId, EventLevel
from eventlog.services import EventLinks

__all__ = [
    "REFUSED_SUBJECT_MAX",
    "transaction_answer",
    "transaction_find",
    "transaction_refusals_recorded",
    "transaction_submit",
]

logger = logging.getLogger(__name__)

#: What a refused transaction keeps of the subject that was asked for (enough to recognise it).
REFUSED_SUBJECT_MAX = 256

#: Policy rules whose refusal is about algorithms (failInfo badAlg); the rest are badRequest.
_BAD_ALG_CODES = frozenset(
    {
        "key_too_small",
        "key_too_large",
        "key_type_unsupported",
        "signature_hash_not_allowed",
        "signature_hash_unsupported",
    }
)


def _request(exchange: Exchange) -> EnrollmentRequest:
    if exchange.request is None:  # pragma: no cover - the handlers bind the request first
        raise RuntimeError("the exchange has no enrollment request")
    return exchange.request


def transaction_find(exchange: Exchange) -> ScepTransaction | None:
    """The transaction of this very request, if it was seen before."""
    return scep_transaction_find(
        service=exchange.service,
        transaction_id=exchange.message.transaction_id,
        request_key=_request(exchange).key,
    )


@contextmanager
def transaction_refusals_recorded(exchange: Exchange) -> Iterator[None]:
    """Record a refused PKCSReq/RenewalReq as a FAILURE transaction, so that a retry gets the same answer.

    Refuses first a transactionID that belongs to another request still pending (a retransmission of this
    one, which may be racing its first copy, is not "another").
    """
    request = _request(exchange)
    if scep_transaction_pending_elsewhere(
        service=exchange.service, transaction_id=exchange.message.transaction_id, request_key=request.key
    ):
        raise scep.ScepFailure(
            scep.FailInfo.BAD_REQUEST, "this transactionID belongs to another request that is still pending"
        )
    try:
        yield
    except scep.ScepFailure as failure:
        exchange.events_flush()  # the challenge's 20500 before the refusal's events
        if isinstance(failure, EnrollmentRefused) and failure.transient:
            raise
        try:
            ScepTransaction.objects.get_or_create(
                service=exchange.service,
                transaction_id=exchange.message.transaction_id,
                request_key=request.key,
                defaults={
                    "csr_sha256": request.sha256,
                    "message_type": exchange.message_type or 0,
                    "signer_public_key_sha256": exchange.signer_key_sha256,
                    "subject": _cut(request.csr.subject.rfc4514_string(), REFUSED_SUBJECT_MAX),
                    "status": TransactionStatus.FAILURE,
                    "fail_info": int(failure.fail_info),
                    "fail_info_text": failure.text[:512],
                    "client_address": exchange.client_address,
                },
            )
        except IntegrityError:
            logger.info("failure of transaction %s already recorded", exchange.message.transaction_id)
        raise


def transaction_submit(
    exchange: Exchange,
    *,
    grant: ChallengeGrant,
    verifier: ChallengeVerifier | None,
    template: CertificateTemplate,
    authority: CertificateAuthority,
) -> ScepReply:
    """Record the transaction, use up the grant, queue the CA request (one database transaction), wait
    briefly for the CA and answer.
    """
    request = _request(exchange)
    message = exchange.message
    subject = request.csr.subject.rfc4514_string()[:1024]
    try:
        with transaction.atomic():
            if template.requires_approval:
                _pending_cap_check(exchange.service, exchange.client_address, subject)
            if verifier is not None:
                verifier.consume(grant)
            certificate_request = certificate_request_submit(
                authority=authority,
                template=template,
                csr=request.csr,
                csr_der=request.der,
                subject=grant.subject,
                sans=grant.sans,
                validity_days=grant.validity_days,
                sid=grant.sid,
                key_usage=grant.key_usage,
                extended_key_usages=grant.extended_key_usages,
                requester=f"scep:{exchange.service.slug}",
            )
            # Inserted with its CA request (one statement): a second copy of the same request fails here
            # on the transaction's unique key and takes everything above back with it.
            record = ScepTransaction.objects.create(
                service=exchange.service,
                transaction_id=message.transaction_id,
                message_type=exchange.message_type or 0,
                signer_public_key_sha256=exchange.signer_key_sha256,
                csr_sha256=request.sha256,
                request_key=request.key,
                subject=subject,
                status=TransactionStatus.PENDING,
                authorization=grant.authorization,
                challenge_id=grant.challenge_id,
                renewed_certificate_id=grant.renewed_certificate_id,
                client_address=exchange.client_address,
                certificate_request=certificate_request,
            )
            exchange.events_write()  # the challenge's 20500, committed with what it granted
        exchange.events_written()
    except IntegrityError:
        # The same request arrived twice at once: answer with the one that won.
        existing = transaction_find(exchange)
        if existing is None:
            raise
        return transaction_replay(exchange, existing)
    except (PolicyViolation, AuthorityUnavailable) as exc:
        fail_info = scep.FailInfo.BAD_ALG if exc.code in _BAD_ALG_CODES else scep.FailInfo.BAD_REQUEST
        unavailable = (
            DiagnosticCode.PKCS_ISSUE_CA_UNAVAILABLE if isinstance(exc, AuthorityUnavailable) else None
        )
        raise EnrollmentRefused(
            fail_info, exc.message, reason_code=exc.code, diagnostic_code=unavailable
        ) from exc
    with wait_slot(_issue_wait(exchange)) as wait:
        certificate_request_wait(request=certificate_request, timeout=wait)
    return transaction_answer(exchange, record, refreshed=True)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _pending_cap_check(service: ScepService, client_address: str | None, subject: str) -> None:
    """Refuse (transient badRequest) a request that would go over a cap of requests waiting for approval.

    Inside the submitting transaction, with the service's row locked, so that concurrent requests count
    one after the other.
    """
    settings = enrollment_settings()
    list(ScepService.objects.select_for_update().filter(pk=service.pk).values_list("pk", flat=True))
    waiting = scep_transaction_pending_approval(service=service)
    caps = [
        (settings.SCEP_PENDING_MAX_PER_SERVICE, waiting, f"at SCEP service {service.slug}", "service"),
        (
            settings.SCEP_PENDING_MAX_PER_SUBJECT,
            waiting.filter(subject=subject),
            f"for {subject!r}",
            "subject",
        ),
    ]
    if client_address is not None:
        caps.append(
            (
                settings.SCEP_PENDING_MAX_PER_ADDRESS,
                waiting.filter(client_address=client_address),
                f"from {client_address}",
                "address",
            )
        )
    for cap, queryset, whose, kind in caps:
        if cap and queryset.count() >= cap:
            raise EnrollmentRefused(
                scep.FailInfo.BAD_REQUEST,
                f"too many requests are waiting for approval {whose} (the limit is {cap}); try again once "
                "a CA certificate manager has approved or denied them",
                reason_code=f"pending_cap_{kind}",
                transient=True,
            )


def transaction_replay(exchange: Exchange, record: ScepTransaction) -> ScepReply:
    """A request (or poll) for a transaction we know: the same answer, never a second certificate.

    While the CA has not answered yet, wait for it as a new request would, so that a poll soon after
    the CA worker comes back gets the certificate instead of another PENDING.
    """
    if record.signer_public_key_sha256 != exchange.signer_key_sha256:
        raise scep.ScepFailure(scep.FailInfo.BAD_REQUEST, "this transactionID belongs to another requester")
    if record.status == TransactionStatus.PENDING and record.certificate_request is not None:
        with wait_slot(_issue_wait(exchange)) as wait:
            certificate_request_wait(request=record.certificate_request, timeout=wait)
        return transaction_answer(exchange, record, refreshed=True)
    return transaction_answer(exchange, record)


def _issue_wait(exchange: Exchange) -> float:
    wait = exchange.service.issue_wait_seconds
    return float(enrollment_settings().SCEP_ISSUE_WAIT if wait is None else wait)


def _notify(exchange: Exchange, record: ScepTransaction) -> bool:
    """Tell the verifiers how the transaction ended; True if every one recorded it. Their bookkeeping (the
    device's certificate state) must not take the device's answer away: a failure is rolled back, logged
    and recorded as an event.
    """
    notified = True
    for verifier in challenge_verifiers.all():
        if not verifier.notifies(record):
            continue
        try:
            with transaction.atomic():
                verifier.notify(record)
        except (DatabaseError, ApplicationError, LookupError, ValueError) as exc:
            logger.exception("notify of %s for transaction %s failed", type(verifier).__name__, record.pk)
            notified = False
            exchange.record(
                event_id=EventId.CRP_NOTIFY_FAILURE,
                level=EventLevel.ERROR,
                message=f"{type(verifier).__name__} could not record the outcome: {exc}",
                diagnostic_code=DiagnosticCode.UNKNOWN_ERROR,
                transaction=record,
            )
    return notified


def transaction_answer(exchange: Exchange, record: ScepTransaction, *, refreshed: bool = False) -> ScepReply:
    """Bring the transaction in line with its CA request, record one event, and answer accordingly.

    ``refreshed``: the CA request's status was read just now (by the wait), not to be read again.
    """
    if record.status == TransactionStatus.FAILURE:
        text = record.fail_info_text or "request failed"
        exchange.record(
            event_id=EventId.SCEP_VERIFY_FAILURE,
            level=EventLevel.WARNING,
            message=f"answered from the transaction's stored failure: {text}",
            transaction=record,
            fail_info=record.fail_info,
        )
        return exchange.failure(scep.FailInfo(record.fail_info or 0), text)
    request = record.certificate_request
    if request is not None and not refreshed:
        request.refresh_from_db(fields=["status", "failure_reason"])
    status = request.status if request is not None else CertificateRequestStatus.QUEUED
    now = timezone.now()
    if request is not None and status == CertificateRequestStatus.ISSUED:
        issued = record.certificate or IssuedCertificate.objects.select_related("authority").get(
            request=request
        )
        reply = exchange.success([issued.certificate, *_chain(exchange, issued)])
        _transaction_succeeded(exchange, record, issued, now)
        return reply
    if request is not None and status in (CertificateRequestStatus.DENIED, CertificateRequestStatus.FAILED):
        text = request.failure_reason or f"the CA {request.get_status_display().lower()} the request"
        first = (
            ScepTransaction.objects.filter(pk=record.pk)
            .exclude(status=TransactionStatus.FAILURE)
            .update(
                status=TransactionStatus.FAILURE,
                fail_info=int(scep.FailInfo.BAD_REQUEST),
                fail_info_text=text[:512],
                updated_at=now,
            )
        )
        exchange.record(
            event_id=EventId.SCEP_ISSUED_FAILURE,
            level=EventLevel.ERROR,
            message=text,
            transaction=record,
            fail_info=int(scep.FailInfo.BAD_REQUEST),
        )
        if first:
            record.status, record.fail_info_text = TransactionStatus.FAILURE, text[:512]
            record.fail_info = int(scep.FailInfo.BAD_REQUEST)
            _notify(exchange, record)
        return exchange.failure(scep.FailInfo.BAD_REQUEST, text)
    waiting = (
        "approval by a CA certificate manager"
        if status == CertificateRequestStatus.PENDING_APPROVAL
        else "the CA"
    )
    exchange.record(
        event_id=EventId.SCEP_PENDING, message=f"PENDING: waiting for {waiting}", transaction=record
    )
    return exchange.pending()


def _chain(exchange: Exchange, issued: IssuedCertificate) -> list[x509.Certificate]:
    """The issuing CA's chain: the RA's own (held with its key) when the RA belongs to that CA."""
    if issued.authority_id == exchange.ra.authority_id:
        return list(exchange.ra.ca_chain)
    return [authority.certificate for authority in issued.authority.chain()]


def _transaction_succeeded(
    exchange: Exchange, record: ScepTransaction, issued: IssuedCertificate, now: dt.datetime
) -> None:
    """SUCCESS, the verifiers told, and the answer's event: one database transaction (one commit)."""
    certificate_links = EventLinks(
        authority_slug=issued.authority.slug,
        ca_name=issued.authority.name,
        serial=issued.serial,
        thumbprint=issued.fingerprint_sha1,
    )
    with transaction.atomic():
        first = (
            ScepTransaction.objects.filter(pk=record.pk)
            .exclude(status=TransactionStatus.SUCCESS)
            .update(status=TransactionStatus.SUCCESS, certificate=issued, updated_at=now)
        )
        if not first:
            exchange.record(
                event_id=EventId.SCEP_REQUEST_SUCCESS,
                message=f"answered from the transaction's stored result: certificate {issued.serial}",
                transaction=record,
                **certificate_links,
            )
            return
        record.status, record.certificate = TransactionStatus.SUCCESS, issued
        if _notify(exchange, record):
            exchange.record(
                event_id=EventId.CRP_NOTIFY_SUCCESS,
                message=f"sent certificate {issued.serial} ({issued.subject}), thumbprint "
                f"{issued.fingerprint_sha1}, to the device",
                diagnostic_code=DiagnosticCode.SUCCESS,
                transaction=record,
                **certificate_links,
            )
