"""Pure SCEP (RFC 8894) message library: no Django, no I/O except :mod:`.client`.

asn1crypto encodes and decodes the CMS structures; ``cryptography`` does every key, cipher and hash
operation. Server flow for PKIOperation::

    message = parse_pki_message(body)                 # MalformedMessage -> HTTP 400
    check_message_type(message)                       # ScepFailure from here on -> CertRep FAILURE
    verify_pki_message(message, policy=policy)
    plaintext, cipher = decrypt_envelope(message.envelope, recipient_key=ra_key,
                                         recipient_certificate=ra_cert, policy=policy)
    csr = parse_csr(plaintext); password = challenge_password(csr)
    ...
    build_cert_rep(transaction_id=message.transaction_id, recipient_nonce=message.sender_nonce, ...)
"""

from .algorithms import AlgorithmPolicy, ContentCipher, DigestAlgorithm, capabilities, choose_algorithms
from .certrep import build_cert_rep
from .client import ScepClient, ScepIdentity, build_csr, select_recipient
from .constants import (
    CONTENT_TYPE_CA_CERT,
    CONTENT_TYPE_CA_RA_CERT,
    CONTENT_TYPE_NEXT_CA_CERT,
    CONTENT_TYPE_PKI_MESSAGE,
    MAX_MESSAGE_BYTES,
    REQUEST_MESSAGE_TYPES,
    FailInfo,
    MessageType,
    PkiStatus,
)
from .content import (
    build_issuer_and_serial,
    build_issuer_and_subject,
    challenge_password,
    check_csr_key_matches_signer,
    parse_csr,
    parse_issuer_and_serial,
    parse_issuer_and_subject,
)
from .degenerate import build_degenerate, build_next_ca_cert, parse_degenerate, parse_next_ca_cert
from .envelope import decrypt_envelope, encrypt_envelope
from .errors import MalformedMessage, MessageTooLarge, ScepClientError, ScepError, ScepFailure
from .message import PkiMessage, check_message_type, check_signing_time, parse_pki_message, verify_pki_message
from .request import CertRepResult, build_pki_message, parse_cert_rep, self_signed_signer, transaction_id_for

__all__ = [
    "CONTENT_TYPE_CA_CERT",
    "CONTENT_TYPE_CA_RA_CERT",
    "CONTENT_TYPE_NEXT_CA_CERT",
    "CONTENT_TYPE_PKI_MESSAGE",
    "MAX_MESSAGE_BYTES",
    "REQUEST_MESSAGE_TYPES",
    "AlgorithmPolicy",
    "CertRepResult",
    "ContentCipher",
    "DigestAlgorithm",
    "FailInfo",
    "MalformedMessage",
    "MessageTooLarge",
    "MessageType",
    "PkiMessage",
    "PkiStatus",
    "ScepClient",
    "ScepClientError",
    "ScepError",
    "ScepFailure",
    "ScepIdentity",
    "build_cert_rep",
    "build_csr",
    "build_degenerate",
    "build_issuer_and_serial",
    "build_issuer_and_subject",
    "build_next_ca_cert",
    "build_pki_message",
    "capabilities",
    "challenge_password",
    "check_csr_key_matches_signer",
    "check_message_type",
    "check_signing_time",
    "choose_algorithms",
    "decrypt_envelope",
    "encrypt_envelope",
    "parse_cert_rep",
    "parse_csr",
    "parse_degenerate",
    "parse_issuer_and_serial",
    "parse_issuer_and_subject",
    "parse_next_ca_cert",
    "parse_pki_message",
    "select_recipient",
    "self_signed_signer",
    "transaction_id_for",
    "verify_pki_message",
]
