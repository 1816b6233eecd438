"""One PKIOperation being answered, and what is sent back."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from typing_extensions import Unpack

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding

from ca.crypto.keys import spki_sha256
from enrollment import scep
from enrollment.models import ScepService, ScepTransaction
from enrollment.ra import RaIdentity
from enrollment.scep.envelope import DECRYPTION_FAILED
from enrollment.services.events import scep_event_record
from eventlog.choices import DiagnosticCode, EventId, EventLevel
from eventlog.services import EventLinks

__all__ = ["DecryptedContent", "Exchange", "ScepReply", "reply_cipher"]


@dataclass(frozen=True)
class ScepReply:
    """What the view sends: an HTTP status, a content type and a body."""

    status_code: int
    content_type: str
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    #: For the metrics (``core.metrics``): the CertRep's pkiStatus and failInfo (RFC 8894 names) and the
    #: request's messageType; empty for a plain-text HTTP answer.
    pki_status: str = ""
    fail_info: str = ""
    message_type: int | None = None


@dataclass(frozen=True)
class EnrollmentRequest:
    """The CSR of a PKCSReq/RenewalReq, parsed once, with what identifies the request."""

    csr: x509.CertificateSigningRequest
    der: bytes
    sha256: str
    #: What makes a retransmission the same request: message type, CSR and, for renewals, the signer
    #: (scepclient reuses its transactionID and CSR for renewals).
    key: str


@dataclass
class Exchange:
    """One PKIOperation being answered: the request, our RA, and what the reply must use."""

    service: ScepService
    ra: RaIdentity
    policy: scep.AlgorithmPolicy
    message: scep.PkiMessage
    client_address: str | None
    cipher: scep.ContentCipher | None = None
    message_type: int | None = None
    request: EnrollmentRequest | None = None
    #: What the exchange's events are about, once known (the grant's device, user, CA and template).
    links: EventLinks = field(default_factory=EventLinks)
    #: Events recorded with ``record_later``, not written yet.
    deferred: list[dict[str, Any]] = field(default_factory=list)

    def _event(
        self,
        *,
        event_id: EventId,
        message: str,
        level: EventLevel = EventLevel.INFORMATION,
        transaction: ScepTransaction | None = None,
        diagnostic_code: DiagnosticCode | int | None = None,
        details: Mapping[str, Any] | None = None,
        **links: Unpack[EventLinks],
    ) -> dict[str, Any]:
        merged = EventLinks(
            transaction_id=self.message.transaction_id,
            message_type=self.message_type,
            client_address=self.client_address,
        )
        merged.update(self.links)
        merged.update(links)
        return {
            "event_id": event_id,
            "message": message,
            "service": self.service,
            "level": level,
            "transaction": transaction,
            "diagnostic_code": diagnostic_code,
            "details": details,
            **merged,
        }

    def record(
        self,
        *,
        event_id: EventId,
        message: str,
        level: EventLevel = EventLevel.INFORMATION,
        transaction: ScepTransaction | None = None,
        diagnostic_code: DiagnosticCode | int | None = None,
        details: Mapping[str, Any] | None = None,
        **links: Unpack[EventLinks],
    ) -> None:
        """Record an event of this exchange: its service, transactionID, message type, client and links."""
        scep_event_record(
            **self._event(
                event_id=event_id,
                message=message,
                level=level,
                transaction=transaction,
                diagnostic_code=diagnostic_code,
                details=details,
                **links,
            )
        )

    def record_later(
        self,
        *,
        event_id: EventId,
        message: str,
        level: EventLevel = EventLevel.INFORMATION,
        diagnostic_code: DiagnosticCode | int | None = None,
        details: Mapping[str, Any] | None = None,
        **links: Unpack[EventLinks],
    ) -> None:
        """``record``, as of now, but written with the request's own database transaction
        (``events_write``) instead of in a commit of its own; or by ``events_flush`` when the exchange ends
        another way. Nothing deferred is lost: ``pki_operation_handle`` flushes on every way out.
        """
        self.deferred.append(
            self._event(
                event_id=event_id,
                message=message,
                level=level,
                diagnostic_code=diagnostic_code,
                details=details,
                **links,
            )
        )

    def events_write(self) -> None:
        """Write the deferred events (inside the caller's transaction); ``events_written`` once it commits."""
        for event in self.deferred:
            scep_event_record(**event)

    def events_written(self) -> None:
        self.deferred.clear()

    def events_flush(self) -> None:
        """Write what is still deferred, each event in its own commit (a refusal, a rolled-back request)."""
        self.events_write()
        self.events_written()

    @property
    def digest(self) -> scep.DigestAlgorithm:
        """Answer with the client's digest when it is allowed, else SHA-256."""
        digest = self.message.digest_algorithm
        if isinstance(digest, scep.DigestAlgorithm) and self.policy.allows_digest(digest):
            return digest
        return scep.DigestAlgorithm.SHA256

    @cached_property
    def signer_key_sha256(self) -> str:
        return spki_sha256(self.message.signer_certificate.public_key())

    @cached_property
    def signer_fingerprint_sha256(self) -> str:
        return self.message.signer_certificate.fingerprint(hashes.SHA256()).hex().upper()

    def bind_request(self, csr: x509.CertificateSigningRequest) -> EnrollmentRequest:
        """Keep the request's CSR with its DER, its hash and the request key, computed once."""
        der = csr.public_bytes(Encoding.DER)
        digest = hashlib.sha256(der).hexdigest()
        signer = (
            self.signer_fingerprint_sha256.lower()
            if self.message_type == scep.MessageType.RENEWAL_REQ
            else ""
        )
        material = f"{self.message_type}|{digest}|{signer}"
        self.request = EnrollmentRequest(
            csr=csr, der=der, sha256=digest, key=hashlib.sha256(material.encode("ascii")).hexdigest()
        )
        return self.request

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
        fail_info = kwargs.get("fail_info")
        return ScepReply(
            200,
            scep.CONTENT_TYPE_PKI_MESSAGE,
            body,
            pki_status=status.name.lower(),
            fail_info=fail_info.rfc_name if isinstance(fail_info, scep.FailInfo) else "",
            message_type=self.message_type,
        )

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


def reply_cipher(request_cipher: scep.ContentCipher) -> scep.ContentCipher:
    """The reply uses the client's cipher, except single DES: never answer with DES.

    That is the reference's lesson from micromdm. Triple DES is what every client old enough to send
    DES also reads, and the request could only be accepted with legacy algorithms allowed.
    """
    if request_cipher is scep.ContentCipher.DES_CBC:
        return scep.ContentCipher.DES3_CBC
    return request_cipher


class DecryptedContent:
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
