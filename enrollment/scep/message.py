"""The SCEP pkiMessage (RFC 8894 §3.2): a SignedData whose signed attributes carry the SCEP fields.

Order of use on a server::

    message = parse_pki_message(body)            # MalformedMessage -> HTTP 400
    check_message_type(message)                  # ScepFailure(badRequest) before anything else
    verify_pki_message(message, policy=policy)   # ScepFailure(badAlg / badMessageCheck)
    plaintext, cipher = decrypt_envelope(message.envelope, ...)

Decisions on lenient input (reference bad-input matrix §4.2):

* transactionID (C-13, C-14) may be a PrintableString, UTF8String or IA5String, 1..128 characters of
  printable ASCII (0x20..0x7E); anything else is malformed. It is opaque: no format is assumed.
* senderNonce/recipientNonce (C-15) must be 8..32 bytes (RFC 8894 says 16); other lengths are malformed.
* messageType is kept as received (up to 16 printable characters) so that :func:`check_message_type` can
  answer unknown values (``"18"``, ``"abc"``, ``""``) with FAILURE/badRequest rather than HTTP 400.
* A message without transactionID, messageType or senderNonce (C-10) is malformed: there is nothing to
  put in a CertRep.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from asn1crypto import core
from cryptography import x509

from .algorithms import AlgorithmPolicy, DigestAlgorithm
from .constants import (
    MAX_MESSAGE_BYTES,
    MAX_MESSAGE_TYPE_LENGTH,
    MAX_NONCE_LENGTH,
    MAX_TRANSACTION_ID_LENGTH,
    MIN_NONCE_LENGTH,
    OID_DATA,
    OID_FAIL_INFO,
    OID_FAIL_INFO_TEXT,
    OID_MESSAGE_TYPE,
    OID_PKI_STATUS,
    OID_RECIPIENT_NONCE,
    OID_SENDER_NONCE,
    OID_TRANSACTION_ID,
    REQUEST_MESSAGE_TYPES,
    FailInfo,
    MessageType,
    PkiStatus,
)
from .errors import MalformedMessage, ScepFailure
from .signeddata import (
    DECODING_ERRORS,
    SignedContent,
    describe_error,
    parse_signed_data,
    single_value,
    verify_signed_content,
)

__all__ = [
    "PkiMessage",
    "check_message_type",
    "check_signing_time",
    "is_printable_ascii",
    "parse_pki_message",
    "scep_attributes",
    "verify_pki_message",
]

_STRING_TYPES = (core.PrintableString, core.UTF8String, core.IA5String)
# Characters of the ASN.1 PrintableString type.
_PRINTABLE_STRING_CHARS = frozenset(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 '()+,-./:=?"
)


@dataclass(frozen=True)
class PkiMessage:
    """A parsed (not yet verified) pkiMessage. Requests and CertReps share this shape."""

    raw: bytes
    #: The messageType as an int when it is a canonical decimal number, else None.
    message_type: int | None
    message_type_raw: str
    transaction_id: str
    sender_nonce: bytes
    recipient_nonce: bytes | None
    pki_status: PkiStatus | None
    fail_info: FailInfo | None
    fail_info_text: str | None
    signed_content: SignedContent

    @property
    def signer_certificate(self) -> x509.Certificate:
        return self.signed_content.signer_certificate

    @property
    def certificates(self) -> tuple[x509.Certificate, ...]:
        """Every certificate in the SignedData (the signer's and any others the peer added)."""
        return self.signed_content.certificates

    @property
    def digest_algorithm(self) -> DigestAlgorithm | str:
        """The SignerInfo digest algorithm, or its dotted OID when unknown."""
        return self.signed_content.digest_algorithm

    @property
    def signing_time(self) -> datetime | None:
        return self.signed_content.signing_time

    @property
    def envelope(self) -> bytes | None:
        """The eContent: the DER pkcsPKIEnvelope, None when absent (CertRep FAILURE/PENDING)."""
        return self.signed_content.econtent or None


def parse_pki_message(
    der: bytes, *, max_size: int = MAX_MESSAGE_BYTES, extra_certificates: Sequence[x509.Certificate] = ()
) -> PkiMessage:
    """Parse a DER pkiMessage. Structure only: no signature check, no decryption.

    ``extra_certificates`` are used to find the signer when the SignedData does not include it (a client
    passes the certificates from GetCACert).

    Raises:
        MalformedMessage: for anything that cannot be answered with a CertRep, with a short reason.
    """
    signed = parse_signed_data(der, max_size=max_size, extra_certificates=extra_certificates)
    if signed.signed_attributes is None:
        raise MalformedMessage("the SignerInfo has no signed attributes")
    if signed.econtent_type != OID_DATA:
        raise MalformedMessage(f"eContentType is {signed.econtent_type}, not id-data")
    try:
        return _scep_fields(der, signed)
    except DECODING_ERRORS as exc:
        raise MalformedMessage(f"invalid SCEP attribute: {describe_error(exc)}") from exc


def _scep_fields(der: bytes, signed: SignedContent) -> PkiMessage:
    attributes = signed.attributes
    message_type_raw = _string(attributes, OID_MESSAGE_TYPE, "messageType")
    transaction_id = _string(attributes, OID_TRANSACTION_ID, "transactionID")
    sender_nonce = _nonce(attributes, OID_SENDER_NONCE, "senderNonce")
    if message_type_raw is None:
        raise MalformedMessage("messageType attribute is missing")
    if transaction_id is None:
        raise MalformedMessage("transactionID attribute is missing")
    if sender_nonce is None:
        raise MalformedMessage("senderNonce attribute is missing")
    if len(message_type_raw) > MAX_MESSAGE_TYPE_LENGTH:
        raise MalformedMessage(f"messageType is longer than {MAX_MESSAGE_TYPE_LENGTH} characters")
    if not 1 <= len(transaction_id) <= MAX_TRANSACTION_ID_LENGTH:
        raise MalformedMessage(f"transactionID must be 1 to {MAX_TRANSACTION_ID_LENGTH} characters")

    status_raw = _string(attributes, OID_PKI_STATUS, "pkiStatus")
    fail_info_raw = _string(attributes, OID_FAIL_INFO, "failInfo")
    try:
        pki_status = None if status_raw is None else PkiStatus(status_raw)
        fail_info = None if fail_info_raw is None else FailInfo(int(fail_info_raw))
    except ValueError:
        raise MalformedMessage("unknown pkiStatus or failInfo value") from None
    fail_info_text = _string(attributes, OID_FAIL_INFO_TEXT, "failInfoText", printable=False)

    return PkiMessage(
        raw=der,
        message_type=_canonical_int(message_type_raw),
        message_type_raw=message_type_raw,
        transaction_id=transaction_id,
        sender_nonce=sender_nonce,
        recipient_nonce=_nonce(attributes, OID_RECIPIENT_NONCE, "recipientNonce"),
        pki_status=pki_status,
        fail_info=fail_info,
        fail_info_text=fail_info_text,
        signed_content=signed,
    )


def is_printable_ascii(text: str) -> bool:
    """True when every character is printable ASCII (0x20..0x7E)."""
    return all(" " <= char <= "~" for char in text)


def _string(
    attributes: Mapping[str, tuple[bytes, ...]], oid: str, name: str, *, printable: bool = True
) -> str | None:
    value = single_value(attributes, oid, name)
    if value is None:
        return None
    parsed = core.load(value, strict=True)
    if not isinstance(parsed, _STRING_TYPES):
        raise MalformedMessage(f"{name} must be a PrintableString")
    text = str(parsed.native)
    if printable and not is_printable_ascii(text):
        raise MalformedMessage(f"{name} must be printable ASCII")
    return text


def _nonce(attributes: Mapping[str, tuple[bytes, ...]], oid: str, name: str) -> bytes | None:
    value = single_value(attributes, oid, name)
    if value is None:
        return None
    nonce = bytes(core.OctetString.load(value, strict=True).native)
    if not MIN_NONCE_LENGTH <= len(nonce) <= MAX_NONCE_LENGTH:
        raise MalformedMessage(
            f"{name} must be {MIN_NONCE_LENGTH} to {MAX_NONCE_LENGTH} bytes, not {len(nonce)}"
        )
    return nonce


def _canonical_int(text: str) -> int | None:
    if not text.isascii() or not text.isdigit() or str(int(text)) != text:
        return None
    return int(text)


def check_message_type(message: PkiMessage) -> MessageType:
    """Return the request's MessageType if it is on the allow-list (17, 19, 20, 21, 22).

    Run this before anything else: a type that is parsed but not handled must never reach issuing code.

    Raises:
        ScepFailure: BAD_REQUEST for every other value, including CertRep (3), UpdateReq (18), 0, 99,
            ``"abc"`` and ``""``.
    """
    if message.message_type not in REQUEST_MESSAGE_TYPES:
        raise ScepFailure(
            FailInfo.BAD_REQUEST,
            f"messageType {message.message_type_raw!r} is not a request this server accepts "
            f"(accepted: {', '.join(str(value) for value in sorted(REQUEST_MESSAGE_TYPES))})",
        )
    return MessageType(message.message_type)


def verify_pki_message(message: PkiMessage, *, policy: AlgorithmPolicy) -> None:
    """Check the digest against ``policy`` and verify contentType, messageDigest and the signature.

    Raises:
        ScepFailure: BAD_ALG for a refused or unknown digest/signature algorithm, BAD_MESSAGE_CHECK when the
            signature or messageDigest does not verify with the signer certificate.
    """
    verify_signed_content(message.signed_content, policy=policy)


def check_signing_time(message: PkiMessage, *, now: datetime, max_skew: timedelta) -> None:
    """Optional clock-skew policy: signingTime must be within ``max_skew`` of ``now``.

    A message without signingTime passes (the attribute is optional in RFC 8894).

    Raises:
        ScepFailure: BAD_TIME when signingTime is too far from ``now``.
    """
    signing_time = message.signing_time
    if signing_time is not None and abs(now - signing_time) > max_skew:
        raise ScepFailure(
            FailInfo.BAD_TIME,
            f"signingTime {signing_time.isoformat()} is more than {max_skew} away from the server's clock",
        )


def scep_attributes(
    *,
    message_type: MessageType | int | str,
    transaction_id: str,
    sender_nonce: bytes,
    recipient_nonce: bytes | None = None,
) -> list[tuple[str, core.Asn1Value]]:
    """The SCEP signed attributes common to requests and replies.

    ``message_type`` may be any string so that tests can send types a server must refuse. The transactionID
    is a PrintableString when its characters allow it, else an IA5String (it is echoed as received).
    """
    if not 1 <= len(transaction_id) <= MAX_TRANSACTION_ID_LENGTH or not is_printable_ascii(transaction_id):
        raise ValueError(f"transactionID must be 1 to {MAX_TRANSACTION_ID_LENGTH} printable ASCII characters")
    tid_type = core.PrintableString if set(transaction_id) <= _PRINTABLE_STRING_CHARS else core.IA5String
    type_text = str(int(message_type)) if isinstance(message_type, int) else message_type
    attributes: list[tuple[str, core.Asn1Value]] = [
        (OID_MESSAGE_TYPE, core.PrintableString(type_text)),
        (OID_TRANSACTION_ID, tid_type(transaction_id)),
        (OID_SENDER_NONCE, core.OctetString(sender_nonce)),
    ]
    if recipient_nonce is not None:
        attributes.append((OID_RECIPIENT_NONCE, core.OctetString(recipient_nonce)))
    return attributes
