"""A test-only SCEP server built from the library alone (http.server on 127.0.0.1, random port).

It is what the library's users will write, minus persistence and policy: it exists to drive real clients
(micromdm's scepclient, our ScepClient) through the library. It is not the product's SCEP view.
"""

import base64
import threading
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization

from enrollment import scep
from enrollment.scep import (
    AlgorithmPolicy,
    ContentCipher,
    DigestAlgorithm,
    FailInfo,
    MalformedMessage,
    MessageType,
    PkiMessage,
    PkiStatus,
    ScepFailure,
)

from .pki import Identity, issue, make_crl


@dataclass
class ScepTestServer:
    ca: Identity
    ra: Identity
    policy: AlgorithmPolicy = field(default_factory=AlgorithmPolicy)
    challenge: str = "s3cret"
    #: Answer PKCSReq with PENDING; the next CertPoll issues.
    pending: bool = False
    #: Serve GetCACert as one DER CA certificate (x-x509-ca-cert) instead of RA + CA.
    single_ca: bool = False
    next_ca: list[x509.Certificate] = field(default_factory=list)
    #: Encrypt SUCCESS replies with this cipher instead of the request's.
    reply_cipher: ContentCipher | None = None
    requests: list[PkiMessage] = field(default_factory=list)
    ciphers: list[ContentCipher] = field(default_factory=list)
    replies: list[tuple[PkiStatus, FailInfo | None]] = field(default_factory=list)
    issued: dict[int, x509.Certificate] = field(default_factory=dict)
    _pending: dict[str, x509.CertificateSigningRequest] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # -- operations -----------------------------------------------------------------------------------

    def get(self, operation: str, message: str | None) -> tuple[int, str, bytes]:
        operation = operation.lower()
        if operation == "getcacaps":
            caps = scep.capabilities(self.policy, next_ca_cert=bool(self.next_ca))
            return 200, "text/plain", "\n".join(caps).encode()
        if operation == "getcacert":
            if self.single_ca:
                return (
                    200,
                    scep.CONTENT_TYPE_CA_CERT,
                    self.ca.certificate.public_bytes(serialization.Encoding.DER),
                )
            bundle = scep.build_degenerate([self.ra.certificate, self.ca.certificate])
            return 200, scep.CONTENT_TYPE_CA_RA_CERT, bundle
        if operation == "getnextcacert":
            if not self.next_ca:
                return 404, "text/plain", b"no CA rollover configured"
            body = scep.build_next_ca_cert(
                self.next_ca, signer_certificate=self.ra.certificate, signer_key=self.ra.key
            )
            return 200, scep.CONTENT_TYPE_NEXT_CA_CERT, body
        if operation == "pkioperation":
            if message is None:
                return 400, "text/plain", b"PKIOperation by GET needs message="
            try:
                der = base64.b64decode(message.replace(" ", "+"), validate=True)
            except ValueError:
                return 400, "text/plain", b"message is not base64"
            return self.pki_operation(der)
        return 400, "text/plain", b"unknown operation"

    def pki_operation(self, der: bytes) -> tuple[int, str, bytes]:
        try:
            message = scep.parse_pki_message(der)
        except MalformedMessage as exc:
            return 400, "text/plain", str(exc).encode()
        with self._lock:
            self.requests.append(message)
        # Answer with the request's digest when the policy allows it, else SHA-256.
        digest = message.digest_algorithm
        allowed = isinstance(digest, DigestAlgorithm) and self.policy.allows_digest(digest)
        reply_digest = digest if isinstance(digest, DigestAlgorithm) and allowed else DigestAlgorithm.SHA256
        fail_info: FailInfo | None = None
        try:
            certificates, crl, cipher = self._process(message)
        except ScepFailure as failure:
            status, fail_info = PkiStatus.FAILURE, failure.fail_info
            reply = scep.build_cert_rep(
                transaction_id=message.transaction_id,
                recipient_nonce=message.sender_nonce,
                status=status,
                fail_info=failure.fail_info,
                fail_info_text=failure.text,
                signer_certificate=self.ra.certificate,
                signer_key=self.ra.key,
                digest=reply_digest,
            )
        else:
            success = bool(certificates) or crl is not None
            status = PkiStatus.SUCCESS if success else PkiStatus.PENDING
            reply = scep.build_cert_rep(
                transaction_id=message.transaction_id,
                recipient_nonce=message.sender_nonce,
                status=status,
                signer_certificate=self.ra.certificate,
                signer_key=self.ra.key,
                digest=reply_digest,
                recipient_certificate=message.signer_certificate if success else None,
                cipher=(self.reply_cipher or cipher) if success else None,
                certificates=certificates,
                crl=crl,
                extra_certificates=[self.ca.certificate],
            )
        with self._lock:
            self.replies.append((status, fail_info))
        return 200, scep.CONTENT_TYPE_PKI_MESSAGE, reply

    def _process(
        self, message: PkiMessage
    ) -> tuple[list[x509.Certificate], x509.CertificateRevocationList | None, ContentCipher]:
        message_type = scep.check_message_type(message)
        scep.verify_pki_message(message, policy=self.policy)
        if message.envelope is None:
            raise ScepFailure(FailInfo.BAD_REQUEST, "the request has no pkcsPKIEnvelope")
        plaintext, cipher = scep.decrypt_envelope(
            message.envelope,
            recipient_key=self.ra.key,
            recipient_certificate=self.ra.certificate,
            policy=self.policy,
        )
        with self._lock:
            self.ciphers.append(cipher)
        if message_type is MessageType.PKCS_REQ:
            csr = scep.parse_csr(plaintext)
            scep.check_csr_key_matches_signer(csr, message.signer_certificate)
            if scep.challenge_password(csr) != self.challenge:
                raise ScepFailure(FailInfo.BAD_REQUEST, "wrong or missing challengePassword")
            if self.pending:
                self._pending[message.transaction_id] = csr
                return [], None, cipher
            return self._issue(csr), None, cipher
        if message_type is MessageType.RENEWAL_REQ:
            csr = scep.parse_csr(plaintext)
            try:
                message.signer_certificate.verify_directly_issued_by(self.ca.certificate)
            except (ValueError, TypeError, InvalidSignature) as exc:
                raise ScepFailure(
                    FailInfo.BAD_REQUEST, "RenewalReq is not signed by a certificate of this CA"
                ) from exc
            return self._issue(csr), None, cipher
        if message_type is MessageType.CERT_POLL:
            issuer, subject = scep.parse_issuer_and_subject(plaintext)
            csr_pending = self._pending.pop(message.transaction_id, None)
            if csr_pending is None or subject != csr_pending.subject or issuer != self.ca.certificate.subject:
                raise ScepFailure(FailInfo.BAD_CERT_ID, "no pending request for this transaction")
            return self._issue(csr_pending), None, cipher
        if message_type is MessageType.GET_CERT:
            _, serial = scep.parse_issuer_and_serial(plaintext)
            if serial not in self.issued:
                raise ScepFailure(FailInfo.BAD_CERT_ID, f"no certificate with serial {serial}")
            return [self.issued[serial]], None, cipher
        scep.parse_issuer_and_serial(plaintext)  # GetCRL: one CRL for everything
        return [], make_crl(self.ca), cipher

    def _issue(self, csr: x509.CertificateSigningRequest) -> list[x509.Certificate]:
        certificate = issue(self.ca, csr)
        with self._lock:
            self.issued[certificate.serial_number] = certificate
        return [certificate, self.ca.certificate]

    # -- HTTP -------------------------------------------------------------------------------------------

    @contextmanager
    def serve(self) -> Iterator[str]:
        """Serve on 127.0.0.1 (random port) in a thread; yields the SCEP URL."""
        backend = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
                operation = query.get("operation", [""])[0]
                message = query.get("message", [None])[0]
                self._reply(*backend.get(operation, message))

            def do_POST(self) -> None:
                query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
                length = int(self.headers.get("Content-Length", "0"))
                if length > scep.MAX_MESSAGE_BYTES:
                    self._reply(413, "text/plain", b"too large")
                    return
                body = self.rfile.read(length)
                if query.get("operation", [""])[0].lower() != "pkioperation":
                    self._reply(400, "text/plain", b"POST is only for PKIOperation")
                    return
                self._reply(*backend.pki_operation(body))

            def _reply(self, status: int, content_type: str, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                return

        httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{httpd.server_address[1]}/scep"
        finally:
            httpd.shutdown()
            httpd.server_close()
            thread.join(timeout=10)
