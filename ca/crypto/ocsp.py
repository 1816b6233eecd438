"""OCSP (RFC 6960): read a request, recognise our issuer in it, build a signed answer or an error.

Pure functions over ``cryptography`` objects. What the responder decides on odd input, in one place:

- One certificate per request: ``cryptography`` reads only single-request OCSPRequests (every client in
  use sends one); a request list of two or more is ``malformedRequest``.
- Nonce (RFC 8954): 1 to 32 octets are echoed in the response; an empty nonce or one over 32 octets is
  ``malformedRequest`` (RFC 8954 2.1: "MUST reject"). RFC 9654, which obsoletes 8954, allows longer nonces;
  ``MAX_NONCE_LENGTH`` is the one place to raise the limit.
- A critical request extension other than the nonce is ``malformedRequest`` (RFC 6960 4.4: we cannot honour
  it); non-critical unknown extensions are ignored. A request signature (optionalSignature) is not checked.
- A CertID hashed with an algorithm we cannot compute (anything but SHA-1 and SHA-2) is ``unauthorized``:
  we cannot tell whether it names our issuer.
- GET: the path after the responder URL is base64 of the DER request, %-decoded by the server already.
  Tolerated as for SCEP: spaces (an unescaped ``+``), URL-safe ``-`` and ``_``, missing padding.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import re
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509 import ocsp

__all__ = [
    "MAX_NONCE_LENGTH",
    "MAX_REQUEST_SIZE",
    "CertificateStatus",
    "OcspQuery",
    "OcspRequestError",
    "ResponderKey",
    "build_error_response",
    "build_responder_csr",
    "build_response",
    "decode_get_request",
    "generate_responder_key",
    "issuer_hashes",
    "load_responder_key",
    "parse_request",
    "responder_key_encrypt",
]

#: Largest request body read (a plain request is about 100 bytes; a signed one with its chain a few KB).
MAX_REQUEST_SIZE = 16 * 1024
#: RFC 8954 2.1: a nonce is 1 to 32 octets.
MAX_NONCE_LENGTH = 32

#: A responder key follows its CA's key type: RSA 2048 for an RSA CA, EC P-256 for an EC CA.
ResponderKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

_BASE64_RE = re.compile(r"^[A-Za-z0-9+/]*={0,2}$")


class OcspRequestError(ValueError):
    """A request answered with an OCSP error status (``status``) instead of a certificate status."""

    def __init__(
        self, message: str, status: ocsp.OCSPResponseStatus = ocsp.OCSPResponseStatus.MALFORMED_REQUEST
    ) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class OcspQuery:
    """The one CertID a request asks about, and its nonce."""

    hash_algorithm: hashes.HashAlgorithm
    issuer_name_hash: bytes
    issuer_key_hash: bytes
    serial: int
    nonce: bytes | None = None


@dataclass(frozen=True)
class CertificateStatus:
    """What the responder says about one serial: good, revoked (when and why) or unknown."""

    status: ocsp.OCSPCertStatus
    revoked_at: dt.datetime | None = None
    reason: x509.ReasonFlags | None = None

    @classmethod
    def good(cls) -> CertificateStatus:
        return cls(ocsp.OCSPCertStatus.GOOD)

    @classmethod
    def unknown(cls) -> CertificateStatus:
        return cls(ocsp.OCSPCertStatus.UNKNOWN)

    @classmethod
    def revoked(cls, *, revoked_at: dt.datetime, reason: x509.ReasonFlags) -> CertificateStatus:
        # As in our CRLs (RFC 5280 5.3.1), the reason "unspecified" is left out rather than sent.
        return cls(
            ocsp.OCSPCertStatus.REVOKED,
            revoked_at=revoked_at,
            reason=None if reason == x509.ReasonFlags.unspecified else reason,
        )


def decode_get_request(encoded: str) -> bytes:
    """The DER request of a GET (RFC 6960 A.1): the URL path after the responder's URL, %-decoded."""
    text = encoded.strip().lstrip("/")  # a DER request starts with 0x30: its base64 never starts with "/"
    text = text.replace(" ", "+").replace("-", "+").replace("_", "/").replace("\r", "").replace("\n", "")
    if not text:
        raise OcspRequestError("no request in the URL")
    if len(text) > MAX_REQUEST_SIZE * 4 // 3 + 4:
        raise OcspRequestError("the request in the URL is too long")
    text += "=" * (-len(text) % 4)
    if not _BASE64_RE.match(text):
        raise OcspRequestError("the request in the URL is not base64")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise OcspRequestError("the request in the URL is not base64") from exc


def parse_request(der: bytes) -> OcspQuery:
    """Read a DER OCSPRequest; raise OcspRequestError with the status to answer when we cannot."""
    if not der:
        raise OcspRequestError("empty request")
    if len(der) > MAX_REQUEST_SIZE:
        raise OcspRequestError(f"request larger than {MAX_REQUEST_SIZE} bytes")
    try:
        request = ocsp.load_der_ocsp_request(der)
        extensions = request.extensions
        serial = request.serial_number
        name_hash, key_hash = request.issuer_name_hash, request.issuer_key_hash
    except (ValueError, NotImplementedError) as exc:  # NotImplementedError: a list of two or more
        raise OcspRequestError(f"not a single-certificate OCSP request: {exc}") from exc
    try:
        algorithm = request.hash_algorithm
    except UnsupportedAlgorithm as exc:
        raise OcspRequestError(
            "the CertID's hash algorithm is not supported", ocsp.OCSPResponseStatus.UNAUTHORIZED
        ) from exc
    nonce = None
    for extension in extensions:
        if isinstance(extension.value, x509.OCSPNonce):
            nonce = extension.value.nonce
            if not 1 <= len(nonce) <= MAX_NONCE_LENGTH:
                raise OcspRequestError(f"a nonce of {len(nonce)} octets (RFC 8954: 1 to {MAX_NONCE_LENGTH})")
        elif extension.critical:
            raise OcspRequestError(f"unsupported critical request extension {extension.oid.dotted_string}")
    return OcspQuery(
        hash_algorithm=algorithm,
        issuer_name_hash=name_hash,
        issuer_key_hash=key_hash,
        serial=serial,
        nonce=nonce,
    )


def issuer_hashes(issuer: x509.Certificate, algorithm: hashes.HashAlgorithm) -> tuple[bytes, bytes]:
    """The CertID's issuerNameHash and issuerKeyHash of certificates ``issuer`` signed (RFC 6960 4.1.1):
    the hash of the DER subject, and the hash of the subjectPublicKey BIT STRING's value.
    """
    name_hash = hashlib.new(algorithm.name, issuer.subject.public_bytes()).digest()
    key_hash = hashlib.new(algorithm.name, _subject_public_key_bits(issuer)).digest()
    return name_hash, key_hash


def _subject_public_key_bits(certificate: x509.Certificate) -> bytes:
    key = certificate.public_key()
    if isinstance(key, rsa.RSAPublicKey):  # RFC 3279 2.3.1: the DER RSAPublicKey
        return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1)
    if isinstance(key, ec.EllipticCurvePublicKey):  # RFC 5480 2.2: the ECPoint (we write it uncompressed)
        return key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    raise ValueError(f"unsupported issuer key type {type(key).__name__}")


def build_response(
    *,
    query: OcspQuery,
    status: CertificateStatus,
    responder_certificate: x509.Certificate,
    responder_key: ResponderKey,
    this_update: dt.datetime,
    next_update: dt.datetime,
) -> ocsp.OCSPResponse:
    """A successful BasicOCSPResponse for ``query``, signed by the delegated responder.

    The CertID is echoed as the client hashed it; the responder is named by its key hash and its
    certificate is included (the client checks it was issued by the CA for id-kp-OCSPSigning).
    """
    builder = (
        ocsp.OCSPResponseBuilder()
        .add_response_by_hash(
            issuer_name_hash=query.issuer_name_hash,
            issuer_key_hash=query.issuer_key_hash,
            serial_number=query.serial,
            algorithm=query.hash_algorithm,
            cert_status=status.status,
            this_update=this_update,
            next_update=next_update,
            revocation_time=status.revoked_at,
            revocation_reason=status.reason,
        )
        .responder_id(ocsp.OCSPResponderEncoding.HASH, responder_certificate)
        .certificates([responder_certificate])
    )
    if query.nonce is not None:
        builder = builder.add_extension(x509.OCSPNonce(query.nonce), critical=False)
    return builder.sign(responder_key, hashes.SHA256())


def build_error_response(status: ocsp.OCSPResponseStatus) -> ocsp.OCSPResponse:
    """An unsigned error response (malformedRequest, internalError, tryLater, unauthorized)."""
    return ocsp.OCSPResponseBuilder.build_unsuccessful(status)


def generate_responder_key(key_type: str) -> ResponderKey:
    """A new responder key of the CA's type (``"RSA"`` or ``"EC"``): RSA 2048 or EC P-256."""
    if key_type == "RSA":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if key_type == "EC":
        return ec.generate_private_key(ec.SECP256R1())
    raise ValueError(f"unsupported CA key type {key_type!r}")


def build_responder_csr(*, key: ResponderKey, subject: x509.Name) -> x509.CertificateSigningRequest:
    """The responder's CSR: only its subject and key matter, the CA takes the rest from the template."""
    return x509.CertificateSigningRequestBuilder().subject_name(subject).sign(key, hashes.SHA256())


def responder_key_encrypt(key: ResponderKey, passphrase: bytes) -> str:
    """PKCS#8 PEM encrypted with ``passphrase`` (the OCSP key passphrase: the web tier's)."""
    if not passphrase:
        raise ValueError("no passphrase to encrypt the responder key with")
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(passphrase),
    ).decode("ascii")


def load_responder_key(pem: str, passphrase: bytes) -> ResponderKey:
    """Decrypt a responder key written by ``responder_key_encrypt``; ValueError for a wrong passphrase."""
    try:
        key = serialization.load_pem_private_key(pem.encode("ascii"), password=passphrase or None)
    except TypeError as exc:  # no passphrase for an encrypted key
        raise ValueError("the responder key is encrypted and there is no passphrase") from exc
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise ValueError(f"unsupported responder key type {type(key).__name__}")
    return key
