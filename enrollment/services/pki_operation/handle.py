"""The entry point of a PKIOperation: check the message, open it, and hand it to its message type."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable

from cryptography.hazmat.primitives.asymmetric import rsa

from django.utils import timezone

from ca.selectors import certificate_get_by_fingerprint
from core import metrics
from enrollment import scep
from enrollment.conf import enrollment_settings
from enrollment.exceptions import EnrollmentRefused
from enrollment.models import ScepService
from enrollment.ra import RaUnavailable, ra_identity
from enrollment.services.events import scep_event_record
from enrollment.services.pki_operation.exchange import DecryptedContent, Exchange, ScepReply, reply_cipher
from enrollment.services.pki_operation.policy import enrollment_grant, renewal_grant
from enrollment.services.pki_operation.queries import cert_poll, get_cert, get_crl
from enrollment.services.pki_operation.transaction import (
    transaction_find,
    transaction_refusals_recorded,
    transaction_replay,
    transaction_submit,
)
from eventlog.choices import EventId, EventLevel
from eventlog.display import MESSAGE_TYPE_NAMES

__all__ = ["pki_operation_handle", "scep_text_reply"]


def scep_text_reply(status_code: int, text: str, *, retry_after: int | None = None) -> ScepReply:
    """The one plain-text answer of the SCEP endpoint (HTTP errors: 4xx, 503), never a CertRep."""
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
    return ScepReply(
        status_code, "text/plain; charset=utf-8", (text.rstrip() + "\n").encode("utf-8"), headers
    )


def pki_operation_handle(*, service: ScepService, der: bytes, client_address: str | None) -> ScepReply:
    """Answer one PKIOperation. Never raises for bad input: the reply is a CertRep or an HTTP 4xx.

    Counted (``core.metrics``) with its messageType, pkiStatus and failInfo, and timed; an answer that is
    no CertRep is counted by its HTTP status (``http_400``), one that raised as ``error``.
    """
    started = time.perf_counter()
    try:
        reply = _answer(service=service, der=der, client_address=client_address)
    except Exception:
        _count(service, ScepReply(503, "", b"", pki_status="error"), started)
        raise
    _count(service, reply, started)
    return reply


def _count(service: ScepService, reply: ScepReply, started: float) -> None:
    message_type = reply.message_type
    metrics.scep_operation_counted(
        service=service.slug,
        operation="PKIOperation",
        # Only the names RFC 8894 gives: a client's made-up messageType must not create a series.
        message_type=MESSAGE_TYPE_NAMES.get(message_type, "other") if message_type is not None else "",
        status=reply.pki_status or f"http_{reply.status_code}",
        fail_info=reply.fail_info,
        seconds=time.perf_counter() - started,
    )


def _answer(*, service: ScepService, der: bytes, client_address: str | None) -> ScepReply:
    try:
        ra = ra_identity(service.registration_authority, service_slug=service.slug)
    except RaUnavailable as exc:
        # Nothing can be decrypted or signed: the request's challenge cannot be verified at all (503).
        scep_event_record(
            event_id=EventId.CRP_VERIFY_FAILURE,
            level=EventLevel.ERROR,
            message=f"the request cannot be verified: {exc.message}",
            diagnostic_code=exc.diagnostic_code,
            service=service,
            client_address=client_address,
        )
        raise
    policy = scep.AlgorithmPolicy(allow_legacy=service.allow_legacy_algorithms)
    try:
        message = scep.parse_pki_message(der, max_size=enrollment_settings().SCEP_MAX_MESSAGE_SIZE)
    except scep.MessageTooLarge as exc:
        _record_malformed(service, str(exc), client_address)
        return scep_text_reply(413, str(exc))
    except scep.MalformedMessage as exc:
        _record_malformed(service, str(exc), client_address)
        return scep_text_reply(400, f"malformed SCEP message: {exc}")
    exchange = Exchange(service=service, ra=ra, policy=policy, message=message, client_address=client_address)
    try:
        exchange.message_type = scep.check_message_type(message)
        scep.verify_pki_message(message, policy=policy)
        if not isinstance(message.signer_certificate.public_key(), rsa.RSAPublicKey):
            # Every reply with content is encrypted to the signer (PKCS#1 v1.5 key transport): refuse now,
            # before anything is issued, not when the answer cannot be built.
            raise scep.ScepFailure(
                scep.FailInfo.BAD_ALG, "the signer certificate needs an RSA key: the reply is encrypted to it"
            )
        skew = enrollment_settings().SCEP_MAX_CLOCK_SKEW
        if skew > 0:
            scep.check_signing_time(message, now=timezone.now(), max_skew=dt.timedelta(seconds=skew))
        if message.envelope is None:
            raise scep.ScepFailure(scep.FailInfo.BAD_REQUEST, "the message has no pkcsPKIEnvelope")
        plaintext, request_cipher = scep.decrypt_envelope(
            message.envelope, recipient_key=ra.key, recipient_certificate=ra.certificate, policy=policy
        )
        exchange.cipher = reply_cipher(request_cipher)
        handler = _HANDLERS[scep.MessageType(exchange.message_type)]
        try:
            return handler(exchange, DecryptedContent(plaintext))
        finally:
            exchange.events_flush()  # anything deferred that no transaction wrote (an error on the way)
    except scep.ScepFailure as failure:
        refused = failure if isinstance(failure, EnrollmentRefused) else None
        exchange.record(
            event_id=EventId.SCEP_VERIFY_FAILURE,
            level=EventLevel.WARNING,
            message=failure.text,
            message_type=message.message_type,
            fail_info=int(failure.fail_info),
            diagnostic_code=refused.diagnostic_code if refused else None,
            details={"failInfo": failure.fail_info.name, "reason": refused.reason_code if refused else ""},
        )
        return exchange.failure(failure.fail_info, failure.text)


def _record_malformed(service: ScepService, text: str, client_address: str | None) -> None:
    scep_event_record(
        event_id=EventId.SCEP_MALFORMED_REQUEST,
        level=EventLevel.WARNING,
        message=text,
        service=service,
        client_address=client_address,
    )


def _enroll(exchange: Exchange, plaintext: DecryptedContent) -> ScepReply:
    """PKCSReq: a challenge verifier authorises exactly what is issued.

    A PKCSReq signed by a certificate this service's CA issued (not a self-signed one) is a renewal, and
    the renewal rules decide it as they decide a RenewalReq: certmonger renews so (``getcert rekey``: a new
    key, signed by its current certificate), as do some routers; NDES takes it as a renewal too. RFC 8894
    asks for the CSR's key in the signer certificate only when that certificate is self-signed (§2.3).
    """
    if _signed_by_an_issued_certificate(exchange):
        return _renew(exchange, plaintext)
    csr = plaintext.csr()
    scep.check_csr_key_matches_signer(csr, exchange.message.signer_certificate)
    exchange.bind_request(csr)
    existing = transaction_find(exchange)
    if existing is not None:
        return transaction_replay(exchange, existing)
    with transaction_refusals_recorded(exchange):
        verifier, grant, template = enrollment_grant(exchange, csr)
        return transaction_submit(
            exchange,
            grant=grant,
            verifier=verifier,
            template=template,
            authority=grant.authority or exchange.service.authority,
        )


def _signed_by_an_issued_certificate(exchange: Exchange) -> bool:
    """Only a signer whose issuer is the service's CA can be one: every other (the self-signed signers of
    first enrollments) is told apart without a query.
    """
    if exchange.message.signer_certificate.issuer != exchange.service.authority.certificate.subject:
        return False
    current = certificate_get_by_fingerprint(fingerprint_sha256=exchange.signer_fingerprint_sha256)
    return current is not None and current.authority_id == exchange.service.authority_id


def _renew(exchange: Exchange, plaintext: DecryptedContent) -> ScepReply:
    """RenewalReq: signed by the current certificate, which the renewal rules check."""
    csr = plaintext.csr()
    exchange.bind_request(csr)
    existing = transaction_find(exchange)
    if existing is not None:
        return transaction_replay(exchange, existing)
    with transaction_refusals_recorded(exchange):
        grant = renewal_grant(exchange, csr)
        if grant.template is None or grant.authority is None:  # pragma: no cover - renewal_grant sets both
            raise EnrollmentRefused(scep.FailInfo.BAD_REQUEST, "the renewed certificate has no template")
        return transaction_submit(
            exchange, grant=grant, verifier=None, template=grant.template, authority=grant.authority
        )


_HANDLERS: dict[scep.MessageType, Callable[[Exchange, DecryptedContent], ScepReply]] = {
    scep.MessageType.PKCS_REQ: _enroll,
    scep.MessageType.RENEWAL_REQ: _renew,
    scep.MessageType.CERT_POLL: cert_poll,
    scep.MessageType.GET_CERT: get_cert,
    scep.MessageType.GET_CRL: get_crl,
}
