"""Client side: build pkiMessage requests and check the CertRep that answers them.

Used by our own SCEP client (:mod:`enrollment.scep.client`), the tests and the benchmarks.
"""

import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificatePublicKeyTypes

from .algorithms import AlgorithmPolicy, ContentCipher, DigestAlgorithm
from .constants import FailInfo, MessageType, PkiStatus
from .degenerate import parse_degenerate
from .envelope import decrypt_envelope, encrypt_envelope
from .errors import MalformedMessage, ScepFailure
from .message import PkiMessage, parse_pki_message, scep_attributes, verify_pki_message
from .signeddata import SignerKey, sign_signed_data

__all__ = ["CertRepResult", "build_pki_message", "parse_cert_rep", "self_signed_signer", "transaction_id_for"]


def build_pki_message(
    *,
    message_type: MessageType | int | str,
    transaction_id: str,
    sender_nonce: bytes,
    message_data: bytes,
    recipient_certificate: x509.Certificate,
    signer_certificate: x509.Certificate,
    signer_key: SignerKey,
    cipher: ContentCipher,
    digest: DigestAlgorithm,
    signing_time: datetime | None = None,
    extra_certificates: Sequence[x509.Certificate] = (),
) -> bytes:
    """Build a DER pkiMessage request.

    ``message_data`` (a DER CSR, IssuerAndSubject or IssuerAndSerialNumber) is encrypted to the CA/RA
    ``recipient_certificate`` with ``cipher``; the SignedData is signed by ``signer_key`` with ``digest``.
    ``message_type`` may be any string, for tests of what a server must refuse.
    """
    envelope = encrypt_envelope(message_data, recipient_certificate=recipient_certificate, cipher=cipher)
    return sign_signed_data(
        econtent=envelope,
        attributes=scep_attributes(
            message_type=message_type, transaction_id=transaction_id, sender_nonce=sender_nonce
        ),
        signer_certificate=signer_certificate,
        signer_key=signer_key,
        digest=digest,
        certificates=extra_certificates,
        signing_time=signing_time,
    )


def self_signed_signer(
    key: SignerKey, subject: x509.Name, *, valid_for: timedelta = timedelta(days=30)
) -> x509.Certificate:
    """The self-signed certificate a client without a certificate signs its request with (RFC 8894 §2.3).

    Same key (and, by convention, subject) as the CSR; keyUsage digitalSignature + keyEncipherment, because
    the server encrypts its reply to it. Backdated by 5 minutes for clock skew.
    """
    now = datetime.now(tz=UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + valid_for)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=True,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )


def transaction_id_for(public_key: CertificatePublicKeyTypes) -> str:
    """A transactionID derived from the key: lower-case hex SHA-256 of the DER SubjectPublicKeyInfo.

    One choice among many (micromdm uses base64 SHA-1, sscep hex MD5, certmonger a decimal number); a server
    must treat transactionIDs as opaque. Deriving it from the key makes retries of one enrolment reuse it.
    """
    spki = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(spki).hexdigest()


@dataclass(frozen=True)
class CertRepResult:
    """A verified CertRep."""

    status: PkiStatus
    transaction_id: str
    fail_info: FailInfo | None
    fail_info_text: str | None
    #: The certificates of the SUCCESS envelope, issued certificate first.
    certificates: tuple[x509.Certificate, ...]
    crl: x509.CertificateRevocationList | None
    #: The content cipher of the SUCCESS envelope, None otherwise.
    cipher: ContentCipher | None
    message: PkiMessage

    @property
    def certificate(self) -> x509.Certificate | None:
        """The issued (first) certificate of a SUCCESS reply."""
        return self.certificates[0] if self.certificates else None


def parse_cert_rep(
    der: bytes,
    *,
    signer_key: rsa.RSAPrivateKey,
    signer_certificate: x509.Certificate,
    expected_recipient_nonce: bytes,
    ra_certificate: x509.Certificate | Sequence[x509.Certificate],
    expected_transaction_id: str | None = None,
    policy: AlgorithmPolicy | None = None,
) -> CertRepResult:
    """Verify and decode the CertRep answering our request.

    ``signer_key``/``signer_certificate`` are the ones our request was signed with (the reply is encrypted
    to them); ``expected_recipient_nonce`` is our request's senderNonce; ``ra_certificate`` is the CA/RA
    signing certificate (or all certificates) from GetCACert. ``policy`` defaults to no legacy algorithms.

    Raises:
        MalformedMessage: the reply is not a well-formed CertRep.
        ScepFailure: BAD_MESSAGE_CHECK when it is not signed by the RA, does not verify, or its
            recipientNonce/transactionID do not match (a replayed or misdirected reply); BAD_ALG for refused
            algorithms.
    """
    policy = policy or AlgorithmPolicy()
    trusted = [ra_certificate] if isinstance(ra_certificate, x509.Certificate) else list(ra_certificate)
    message = parse_pki_message(der, extra_certificates=trusted)
    if message.signer_certificate not in trusted:
        raise ScepFailure(FailInfo.BAD_MESSAGE_CHECK, "the CertRep is not signed by the CA/RA certificate")
    verify_pki_message(message, policy=policy)
    if message.message_type != MessageType.CERT_REP:
        raise MalformedMessage(f"expected a CertRep (3), got messageType {message.message_type_raw!r}")
    if message.pki_status is None:
        raise MalformedMessage("the CertRep has no pkiStatus")
    if message.recipient_nonce is None or not hmac.compare_digest(
        message.recipient_nonce, expected_recipient_nonce
    ):
        raise ScepFailure(
            FailInfo.BAD_MESSAGE_CHECK,
            "the CertRep's recipientNonce is not our senderNonce (replayed reply?)",
        )
    if expected_transaction_id is not None and message.transaction_id != expected_transaction_id:
        raise ScepFailure(FailInfo.BAD_MESSAGE_CHECK, "the CertRep's transactionID is not ours")
    if message.pki_status is PkiStatus.FAILURE and message.fail_info is None:
        raise MalformedMessage("the CertRep FAILURE has no failInfo")

    certificates: list[x509.Certificate] = []
    crls: list[x509.CertificateRevocationList] = []
    cipher = None
    if message.pki_status is PkiStatus.SUCCESS:
        if message.envelope is None:
            raise MalformedMessage("the CertRep SUCCESS has no pkcsPKIEnvelope")
        plaintext, cipher = decrypt_envelope(
            message.envelope,
            recipient_key=signer_key,
            recipient_certificate=signer_certificate,
            policy=policy,
        )
        certificates, crls = parse_degenerate(plaintext)
    return CertRepResult(
        status=message.pki_status,
        transaction_id=message.transaction_id,
        fail_info=message.fail_info,
        fail_info_text=message.fail_info_text,
        certificates=tuple(certificates),
        crl=crls[0] if crls else None,
        cipher=cipher,
        message=message,
    )
