"""The PKIOperation pipeline (the NDES server + policy module role).

Order of checks, before anything is signed: the message-type allow-list; the outer signature (and its
digest); the envelope (cipher policy, our RA as recipient); the CSR (self-signature, key = signer key);
then, per message type: the challenge (and what it authorises), renewal rules, or the transaction a
poll refers to. A request that passes is recorded with its SCEP transaction, handed to the CA queue
after commit, and answered SUCCESS (if the CA worker answers within the wait), PENDING or FAILURE.

Every outcome is recorded: a ``ScepTransaction`` for PKCSReq/RenewalReq (so that a retried or polled
request finds its state) and an ``EnrollmentEvent`` for every operation, including refusals.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from ca.choices import CertificateRequestStatus
from ca.crypto.keys import spki_sha256
from ca.crypto.serials import serial_to_hex
from ca.exceptions import AuthorityUnavailable, PolicyViolation
from ca.models import CertificateAuthority, CertificateTemplate, IssuedCertificate
from ca.selectors import crl_get_latest
from ca.services.submission import certificate_request_submit, certificate_request_wait
from enrollment import scep
from enrollment.challenges import ChallengeGrant, ChallengeRefused, challenge_verifiers
from enrollment.choices import EventId, EventLevel, TransactionStatus
from enrollment.models import ScepService, ScepTransaction
from enrollment.ra import RaIdentity, ra_identity
from enrollment.scep.envelope import DECRYPTION_FAILED
from enrollment.services.events import event_record

__all__ = ["EnrollmentRefused", "ScepReply", "pki_operation_handle"]

logger = logging.getLogger(__name__)

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


class EnrollmentRefused(scep.ScepFailure):
    """A refusal with the connector's diagnostic code (e.g. 0x00000411 challenge expired) and the reason
    in the Intune validator's terms (SubjectNameMismatch, ChallengeExpired, ...) where one applies.
    """

    def __init__(
        self,
        fail_info: scep.FailInfo,
        text: str,
        *,
        diagnostic_code: int | None = None,
        reason_code: str = "",
    ) -> None:
        super().__init__(fail_info, text)
        self.diagnostic_code = diagnostic_code
        self.reason_code = reason_code

    @classmethod
    def from_challenge(cls, refused: ChallengeRefused) -> EnrollmentRefused:
        """A challenge verifier's refusal, as a CertRep FAILURE badRequest."""
        return cls(
            scep.FailInfo.BAD_REQUEST,
            refused.text,
            diagnostic_code=refused.diagnostic_code,
            reason_code=refused.reason_code,
        )


@dataclass(frozen=True)
class ScepReply:
    """What the view sends: an HTTP status, a content type and a body."""

    status_code: int
    content_type: str
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def http_error(cls, status_code: int, text: str) -> ScepReply:
        return cls(status_code, "text/plain; charset=utf-8", (text.rstrip() + "\n").encode("utf-8"))


@dataclass
class _Exchange:
    """One PKIOperation being answered: the request, our RA, and what the reply must use."""

    service: ScepService
    ra: RaIdentity
    policy: scep.AlgorithmPolicy
    message: scep.PkiMessage
    client_address: str | None
    cipher: scep.ContentCipher | None = None
    message_type: int | None = None

    @property
    def digest(self) -> scep.DigestAlgorithm:
        """Answer with the client's digest when it is allowed, else SHA-256."""
        digest = self.message.digest_algorithm
        if isinstance(digest, scep.DigestAlgorithm) and self.policy.allows_digest(digest):
            return digest
        return scep.DigestAlgorithm.SHA256

    @property
    def signer_key_sha256(self) -> str:
        return spki_sha256(self.message.signer_certificate.public_key())

    def _cert_rep(self, status: scep.PkiStatus, **kwargs: object) -> ScepReply:
        body = scep.build_cert_rep(
            transaction_id=self.message.transaction_id,
            recipient_nonce=self.message.sender_nonce,
            status=status,
            signer_certificate=self.ra.certificate,
            signer_key=self.ra.key,
            digest=self.digest,
            extra_certificates=self.ra.ca_chain,
            **kwargs,  # type: ignore[arg-type]
        )
        return ScepReply(200, scep.CONTENT_TYPE_PKI_MESSAGE, body)

    def failure(self, fail_info: scep.FailInfo, text: str) -> ScepReply:
        return self._cert_rep(scep.PkiStatus.FAILURE, fail_info=fail_info, fail_info_text=text[:500])

    def pending(self) -> ScepReply:
        return self._cert_rep(scep.PkiStatus.PENDING)

    def success(self, certificates: list[x509.Certificate]) -> ScepReply:
        return self._cert_rep(
            scep.PkiStatus.SUCCESS,
            recipient_certificate=self.message.signer_certificate,
            cipher=self.cipher,
            certificates=certificates,
        )

    def success_crl(self, crl: x509.CertificateRevocationList) -> ScepReply:
        return self._cert_rep(
            scep.PkiStatus.SUCCESS,
            recipient_certificate=self.message.signer_certificate,
            cipher=self.cipher,
            crl=crl,
        )


def pki_operation_handle(*, service: ScepService, der: bytes, client_address: str | None) -> ScepReply:
    """Answer one PKIOperation. Never raises for bad input: the reply is a CertRep or an HTTP 4xx."""
    ra = ra_identity(service.registration_authority)
    policy = scep.AlgorithmPolicy(allow_legacy=service.allow_legacy_algorithms)
    try:
        message = scep.parse_pki_message(der, max_size=settings.CERTPORTAL_SCEP_MAX_MESSAGE_SIZE)
    except scep.MessageTooLarge as exc:
        _record_malformed(service, str(exc), client_address)
        return ScepReply.http_error(413, str(exc))
    except scep.MalformedMessage as exc:
        _record_malformed(service, str(exc), client_address)
        return ScepReply.http_error(400, f"malformed SCEP message: {exc}")
    exchange = _Exchange(
        service=service, ra=ra, policy=policy, message=message, client_address=client_address
    )
    try:
        exchange.message_type = scep.check_message_type(message)
        scep.verify_pki_message(message, policy=policy)
        if not isinstance(message.signer_certificate.public_key(), rsa.RSAPublicKey):
            # Every reply with content is encrypted to the signer (PKCS#1 v1.5 key transport): refuse now,
            # before anything is issued, not when the answer cannot be built.
            raise scep.ScepFailure(
                scep.FailInfo.BAD_ALG, "the signer certificate needs an RSA key: the reply is encrypted to it"
            )
        _check_signing_time(message)
        if message.envelope is None:
            raise scep.ScepFailure(scep.FailInfo.BAD_REQUEST, "the message has no pkcsPKIEnvelope")
        plaintext, request_cipher = scep.decrypt_envelope(
            message.envelope, recipient_key=ra.key, recipient_certificate=ra.certificate, policy=policy
        )
        exchange.cipher = _reply_cipher(request_cipher)
        handler = _HANDLERS[scep.MessageType(exchange.message_type)]
        return handler(exchange, _DecryptedContent(plaintext))
    except scep.ScepFailure as failure:
        event_record(
            event_id=EventId.SCEP_VERIFY_FAILURE,
            level=EventLevel.WARNING,
            message=failure.text,
            service=service,
            transaction_id=message.transaction_id,
            message_type=message.message_type,
            fail_info=int(failure.fail_info),
            diagnostic_code=getattr(failure, "diagnostic_code", None),
            client_address=client_address,
            details={"failInfo": failure.fail_info.name, "reason": getattr(failure, "reason_code", "")},
        )
        return exchange.failure(failure.fail_info, failure.text)


def _record_malformed(service: ScepService, text: str, client_address: str | None) -> None:
    event_record(
        event_id=EventId.SCEP_MALFORMED_REQUEST,
        level=EventLevel.WARNING,
        message=text,
        service=service,
        client_address=client_address,
    )


def _check_signing_time(message: scep.PkiMessage) -> None:
    skew = int(getattr(settings, "CERTPORTAL_SCEP_MAX_CLOCK_SKEW", 0) or 0)
    if skew > 0:
        scep.check_signing_time(message, now=timezone.now(), max_skew=dt.timedelta(seconds=skew))


def _reply_cipher(request_cipher: scep.ContentCipher) -> scep.ContentCipher:
    """The reply uses the client's cipher, except single DES: never answer with DES.

    That is the reference's lesson from micromdm. Triple DES is what every client old enough to send
    DES also reads, and the request could only be accepted with legacy algorithms allowed.
    """
    if request_cipher is scep.ContentCipher.DES_CBC:
        return scep.ContentCipher.DES3_CBC
    return request_cipher


class _DecryptedContent:
    """The decrypted messageData, parsed with one answer for every kind of undecodable content.

    Content that cannot be decoded gets the same answer as content that cannot be decrypted: distinct
    answers for "bad padding" and "not a request" would be a CBC padding oracle for anyone who re-signs
    a captured envelope (the challenge travels inside it).
    """

    def __init__(self, data: bytes) -> None:
        self.data = data

    @staticmethod
    def _uniform() -> scep.ScepFailure:
        return scep.ScepFailure(scep.FailInfo.BAD_MESSAGE_CHECK, DECRYPTION_FAILED)

    def csr(self) -> x509.CertificateSigningRequest:
        try:
            return scep.parse_csr(self.data)
        except scep.ScepFailure as failure:
            if failure.fail_info == scep.FailInfo.BAD_REQUEST:
                raise self._uniform() from None
            raise

    def issuer_and_subject(self) -> tuple[x509.Name, x509.Name]:
        try:
            return scep.parse_issuer_and_subject(self.data)
        except scep.ScepFailure:
            raise self._uniform() from None

    def issuer_and_serial(self) -> tuple[x509.Name, int]:
        try:
            return scep.parse_issuer_and_serial(self.data)
        except scep.ScepFailure:
            raise self._uniform() from None


# --- PKCSReq and RenewalReq ------------------------------------------------------------------------


def _enroll(exchange: _Exchange, plaintext: _DecryptedContent) -> ScepReply:
    csr = plaintext.csr()
    scep.check_csr_key_matches_signer(csr, exchange.message.signer_certificate)
    csr_der = csr.public_bytes(Encoding.DER)
    existing = _existing_transaction(exchange, csr_der)
    if existing is not None:
        return _replay(exchange, existing)
    with _recorded_failure(exchange, csr, csr_der):
        password = scep.challenge_password(csr)
        if not password:
            raise EnrollmentRefused(scep.FailInfo.BAD_REQUEST, "PKCSReq without a challengePassword")
        grant = _authorise(exchange, password, csr)
        template = grant.template or _ndes_template(exchange.service, csr)
        if grant.subject_from_request and not template.subject_supplied_in_request:
            raise EnrollmentRefused(
                scep.FailInfo.BAD_REQUEST,
                f"certificate template {template.name} does not let the request supply its subject; "
                "enroll with a device challenge from a SCEP profile",
            )
        return _submit(
            exchange, csr, csr_der, grant, template, grant.authority or exchange.service.authority, None
        )


def _renew(exchange: _Exchange, plaintext: _DecryptedContent) -> ScepReply:
    service = exchange.service
    csr = plaintext.csr()
    csr_der = csr.public_bytes(Encoding.DER)
    existing = _existing_transaction(exchange, csr_der)
    if existing is not None:
        return _replay(exchange, existing)
    with _recorded_failure(exchange, csr, csr_der):
        if not service.allow_renewal:
            raise EnrollmentRefused(scep.FailInfo.BAD_REQUEST, "renewal is disabled on this SCEP service")
        signer = exchange.message.signer_certificate
        fingerprint = signer.fingerprint(hashes.SHA256()).hex().upper()
        current = (
            IssuedCertificate.objects.select_related("authority", "template", "request")
            .filter(fingerprint_sha256=fingerprint)
            .first()
        )
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
        if not _same_name(csr.subject, current.certificate.subject):
            raise EnrollmentRefused(
                scep.FailInfo.BAD_REQUEST,
                "RenewalReq asks for a different subject than the certificate that signed it",
            )
        grant = ChallengeGrant(
            reference=f"renewal:{current.serial}@{current.authority_id}",
            subject=current.certificate.subject,
            sans=_certificate_sans(current.certificate),
            template=current.template,
            authority=current.authority,
            sid=current.request.sid if current.request is not None else "",
        )
        return _submit(exchange, csr, csr_der, grant, current.template, current.authority, current)


def _request_key(exchange: _Exchange, csr_der: bytes) -> str:
    """The identity of a request: a retransmission has the same.

    A new request differs in message type or, for renewals, in the signer (scepclient reuses its
    transactionID and CSR for renewals).
    """
    signer = ""
    if exchange.message_type == scep.MessageType.RENEWAL_REQ:
        signer = exchange.message.signer_certificate.fingerprint(hashes.SHA256()).hex()
    material = f"{exchange.message_type}|{hashlib.sha256(csr_der).hexdigest()}|{signer}"
    return hashlib.sha256(material.encode("ascii")).hexdigest()


def _existing_transaction(exchange: _Exchange, csr_der: bytes) -> ScepTransaction | None:
    return (
        ScepTransaction.objects.select_related("certificate_request", "certificate")
        .filter(
            service=exchange.service,
            transaction_id=exchange.message.transaction_id,
            request_key=_request_key(exchange, csr_der),
        )
        .first()
    )


class _recorded_failure:
    """Record a refused PKCSReq/RenewalReq as a FAILURE transaction, so that a retry gets the same answer."""

    def __init__(self, exchange: _Exchange, csr: x509.CertificateSigningRequest, csr_der: bytes) -> None:
        self.exchange, self.csr, self.csr_der = exchange, csr, csr_der

    def __enter__(self) -> None:
        # Another request (not a retransmission of this one, which may be racing its first copy) still
        # pending under this transactionID.
        if (
            ScepTransaction.objects.filter(
                service=self.exchange.service,
                transaction_id=self.exchange.message.transaction_id,
                status=TransactionStatus.PENDING,
            )
            .exclude(request_key=_request_key(self.exchange, self.csr_der))
            .exists()
        ):
            raise scep.ScepFailure(
                scep.FailInfo.BAD_REQUEST,
                "this transactionID belongs to another request that is still pending",
            )

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object) -> None:
        if isinstance(exc, scep.ScepFailure):
            try:
                ScepTransaction.objects.get_or_create(
                    service=self.exchange.service,
                    transaction_id=self.exchange.message.transaction_id,
                    request_key=_request_key(self.exchange, self.csr_der),
                    defaults={
                        "csr_sha256": hashlib.sha256(self.csr_der).hexdigest(),
                        "message_type": self.exchange.message_type or 0,
                        "signer_public_key_sha256": self.exchange.signer_key_sha256,
                        "csr_der": self.csr_der,
                        "subject": self.csr.subject.rfc4514_string()[:1024],
                        "status": TransactionStatus.FAILURE,
                        "fail_info": int(exc.fail_info),
                        "fail_info_text": exc.text[:512],
                        "client_address": self.exchange.client_address,
                    },
                )
            except IntegrityError:
                logger.info(
                    "failure of transaction %s already recorded", self.exchange.message.transaction_id
                )


def _authorise(exchange: _Exchange, password: str, csr: x509.CertificateSigningRequest) -> ChallengeGrant:
    for verifier in challenge_verifiers.all():
        try:
            grant = verifier.verify(service=exchange.service, challenge=password, csr=csr)
        except ChallengeRefused as refused:
            raise EnrollmentRefused.from_challenge(refused) from refused
        if grant is not None:
            return grant
    raise EnrollmentRefused(
        scep.FailInfo.BAD_REQUEST, "the challenge password is not valid for this SCEP service"
    )


def _ndes_template(service: ScepService, csr: x509.CertificateSigningRequest) -> CertificateTemplate:
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


def _submit(  # noqa: PLR0917 - a private step of the pipeline, called twice
    exchange: _Exchange,
    csr: x509.CertificateSigningRequest,
    csr_der: bytes,
    grant: ChallengeGrant,
    template: CertificateTemplate,
    authority: CertificateAuthority,
    renewed: IssuedCertificate | None,
) -> ScepReply:
    message = exchange.message
    try:
        with transaction.atomic():
            record = ScepTransaction.objects.create(
                service=exchange.service,
                transaction_id=message.transaction_id,
                message_type=exchange.message_type or 0,
                signer_public_key_sha256=exchange.signer_key_sha256,
                csr_sha256=hashlib.sha256(csr_der).hexdigest(),
                request_key=_request_key(exchange, csr_der),
                csr_der=csr_der,
                subject=csr.subject.rfc4514_string()[:1024],
                status=TransactionStatus.PENDING,
                challenge_reference=grant.reference,
                renewed_certificate=renewed,
                client_address=exchange.client_address,
            )
            if grant.consume is not None:
                grant.consume()
            request = certificate_request_submit(
                authority=authority,
                template=template,
                csr=csr,
                subject=grant.subject,
                sans=grant.sans,
                validity_days=grant.validity_days,
                sid=grant.sid,
                requester=f"scep:{exchange.service.slug}",
            )
            record.certificate_request = request
            record.save(update_fields=["certificate_request", "updated_at"])
    except IntegrityError:
        # The same request arrived twice at once: answer with the one that won.
        existing = _existing_transaction(exchange, csr_der)
        if existing is None:
            raise
        return _replay(exchange, existing)
    except ChallengeRefused as refused:
        raise EnrollmentRefused.from_challenge(refused) from refused
    except (PolicyViolation, AuthorityUnavailable) as exc:
        fail_info = scep.FailInfo.BAD_ALG if exc.code in _BAD_ALG_CODES else scep.FailInfo.BAD_REQUEST
        raise EnrollmentRefused(fail_info, exc.message) from exc
    event_record(
        event_id=EventId.SCEP_VERIFY_SUCCESS,
        message=f"request verified ({grant.reference}); submitted to CA {authority.slug} "
        f"as request {request.pk}",
        service=exchange.service,
        transaction=record,
        transaction_id=message.transaction_id,
        message_type=exchange.message_type,
        client_address=exchange.client_address,
    )
    request = certificate_request_wait(request=request, timeout=_issue_wait(exchange.service))
    return _answer(exchange, record)


def _replay(exchange: _Exchange, record: ScepTransaction) -> ScepReply:
    """A request (or poll) for a transaction we know: the same answer, never a second certificate.

    While the CA has not answered yet, wait for it as a new request would, so that a poll soon after
    the CA worker comes back gets the certificate instead of another PENDING.
    """
    if record.signer_public_key_sha256 != exchange.signer_key_sha256:
        raise scep.ScepFailure(scep.FailInfo.BAD_REQUEST, "this transactionID belongs to another requester")
    if record.status == TransactionStatus.PENDING and record.certificate_request is not None:
        certificate_request_wait(request=record.certificate_request, timeout=_issue_wait(exchange.service))
    return _answer(exchange, record)


def _issue_wait(service: ScepService) -> float:
    wait = service.issue_wait_seconds
    return float(settings.CERTPORTAL_SCEP_ISSUE_WAIT if wait is None else wait)


def _notify(record: ScepTransaction, certificate: IssuedCertificate | None, outcome: str) -> None:
    """Tell the verifier that granted the request how it ended; its bookkeeping must not fail the answer."""
    try:
        challenge_verifiers.notify(
            reference=record.challenge_reference, certificate=certificate, outcome=outcome
        )
    except Exception:
        logger.exception("notify for transaction %s failed", record.transaction_id)


def _answer(exchange: _Exchange, record: ScepTransaction) -> ScepReply:
    """Bring the transaction in line with its CA request, record one event, and answer accordingly.

    The first time a transaction is seen to succeed or fail, the verifier that granted it is notified;
    later requests for it (retransmissions, polls) get the same answer from the stored state.
    """
    event: dict[str, Any] = {
        "service": exchange.service,
        "transaction": record,
        "transaction_id": record.transaction_id,
        "message_type": exchange.message_type,
        "client_address": exchange.client_address,
    }
    if record.status == TransactionStatus.FAILURE:
        text = record.fail_info_text or "request failed"
        event_record(
            event_id=EventId.SCEP_VERIFY_FAILURE,
            level=EventLevel.WARNING,
            message=f"answered from the transaction's stored failure: {text}",
            fail_info=record.fail_info,
            **event,
        )
        return exchange.failure(scep.FailInfo(record.fail_info or 0), text)
    request = record.certificate_request
    if request is not None:
        request.refresh_from_db(fields=["status", "failure_reason"])
    status = request.status if request is not None else CertificateRequestStatus.QUEUED
    now = timezone.now()
    if request is not None and status == CertificateRequestStatus.ISSUED:
        issued = record.certificate or IssuedCertificate.objects.select_related("authority").get(
            request=request
        )
        first = (
            ScepTransaction.objects.filter(pk=record.pk)
            .exclude(status=TransactionStatus.SUCCESS)
            .update(status=TransactionStatus.SUCCESS, certificate=issued, updated_at=now)
        )
        if first:
            event_record(
                event_id=EventId.SCEP_ISSUED_SUCCESS,
                message=f"issued certificate {issued.serial} ({issued.subject}), "
                f"thumbprint {issued.fingerprint_sha1}",
                details={"serial": issued.serial, "thumbprint": issued.fingerprint_sha1},
                **event,
            )
            _notify(record, issued, "issued")
        else:
            event_record(
                event_id=EventId.SCEP_REQUEST_SUCCESS,
                message=f"answered from the transaction's stored result: certificate {issued.serial}",
                **event,
            )
        chain = [authority.certificate for authority in issued.authority.chain()]
        return exchange.success([issued.certificate, *chain])
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
        event_record(
            event_id=EventId.SCEP_ISSUED_FAILURE,
            level=EventLevel.ERROR,
            message=text,
            fail_info=int(scep.FailInfo.BAD_REQUEST),
            **event,
        )
        if first:
            _notify(record, None, text)
        return exchange.failure(scep.FailInfo.BAD_REQUEST, text)
    waiting = (
        "approval by a CA certificate manager"
        if status == CertificateRequestStatus.PENDING_APPROVAL
        else "the CA"
    )
    event_record(event_id=EventId.SCEP_PENDING, message=f"PENDING: waiting for {waiting}", **event)
    return exchange.pending()


# --- CertPoll, GetCert, GetCRL -------------------------------------------------------------------------


def _poll(exchange: _Exchange, plaintext: _DecryptedContent) -> ScepReply:
    plaintext.issuer_and_subject()
    record = (
        ScepTransaction.objects.select_related("certificate_request", "certificate")
        .filter(service=exchange.service, transaction_id=exchange.message.transaction_id)
        .order_by("-created_at")
        .first()
    )
    if record is None:
        raise scep.ScepFailure(scep.FailInfo.BAD_CERT_ID, "no transaction with this transactionID")
    return _replay(exchange, record)


def _authority_by_issuer(issuer: x509.Name) -> CertificateAuthority:
    for authority in CertificateAuthority.objects.all():
        if _same_name(authority.certificate.subject, issuer):
            return authority
    raise scep.ScepFailure(scep.FailInfo.BAD_CERT_ID, f"no CA named {issuer.rfc4514_string()}")


def _get_cert(exchange: _Exchange, plaintext: _DecryptedContent) -> ScepReply:
    """Certificates are public: any requester may fetch one by issuer and serial."""
    issuer, serial = plaintext.issuer_and_serial()
    authority = _authority_by_issuer(issuer)
    issued = IssuedCertificate.objects.filter(authority=authority, serial=serial_to_hex(serial)).first()
    if issued is None:
        raise scep.ScepFailure(
            scep.FailInfo.BAD_CERT_ID, f"no certificate with serial {serial_to_hex(serial)}"
        )
    event_record(
        event_id=EventId.SCEP_REQUEST_SUCCESS,
        message=f"GetCert {issued.serial}",
        service=exchange.service,
        transaction_id=exchange.message.transaction_id,
        message_type=exchange.message_type,
        client_address=exchange.client_address,
    )
    return exchange.success([issued.certificate])


def _get_crl(exchange: _Exchange, plaintext: _DecryptedContent) -> ScepReply:
    issuer, _serial = plaintext.issuer_and_serial()
    authority = _authority_by_issuer(issuer)
    crl = crl_get_latest(authority=authority)
    if crl is None:
        raise scep.ScepFailure(scep.FailInfo.BAD_CERT_ID, f"CA {authority.slug} has not published a CRL")
    event_record(
        event_id=EventId.SCEP_REQUEST_SUCCESS,
        message=f"GetCRL #{crl.number} of {authority.slug}",
        service=exchange.service,
        transaction_id=exchange.message.transaction_id,
        message_type=exchange.message_type,
        client_address=exchange.client_address,
    )
    return exchange.success_crl(x509.load_der_x509_crl(bytes(crl.der)))


_HANDLERS = {
    scep.MessageType.PKCS_REQ: _enroll,
    scep.MessageType.RENEWAL_REQ: _renew,
    scep.MessageType.CERT_POLL: _poll,
    scep.MessageType.GET_CERT: _get_cert,
    scep.MessageType.GET_CRL: _get_crl,
}


# --- helpers ---------------------------------------------------------------------------------------------


def _same_name(a: x509.Name, b: x509.Name) -> bool:
    """Equal as names: same RDNs with the same values, whatever string type encodes them."""

    def key(name: x509.Name) -> list[list[tuple[str, str]]]:
        return [sorted((attr.oid.dotted_string, str(attr.value)) for attr in rdn) for rdn in name.rdns]

    return key(a) == key(b)


def _certificate_sans(certificate: x509.Certificate) -> tuple[x509.GeneralName, ...]:
    try:
        return tuple(certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value)
    except x509.ExtensionNotFound:
        return ()
