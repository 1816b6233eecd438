"""certportal's own SCEP client (standard library HTTP only).

    client = ScepClient("https://portal.example/scep", ca_fingerprint=bytes.fromhex("..."), cafile="ca.pem")
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    sans = [general_name_from_text("dns:host.example.com"), general_name_from_text("upn:alice@corp.example")]
    csr = build_csr(key, subject, sans=sans, challenge_password="one-time-secret")
    signer = ScepIdentity(self_signed_signer(key, csr.subject), key)
    result = client.enroll(csr, key, signer=signer)          # PKCSReq (19)
    while result.status is PkiStatus.PENDING:
        time.sleep(60)
        result = client.poll(csr, signer=signer, transaction_id=result.transaction_id)
    renewed = client.renew(new_csr, current=ScepIdentity(result.certificate, key))  # RenewalReq (17)

Algorithms come from GetCACaps (AES + SHA-256 from a standard server; legacy ones only if the client's
policy allows them). PKIOperation is POSTed when the server advertises POSTPKIOperation, else sent by GET.
https URLs are verified against ``cafile`` (PEM) or, without one, the system's trust store
(:func:`tls_context`).

Keys are RSA: a CertRep is encrypted to the requester's key with RSA key transport (PKCS#1 v1.5), the only
key transport SCEP servers (NDES, certportal) use; certportal answers a request signed with another key
type with badAlg before anything is issued.
"""

import base64
import http.client
import ipaddress
import os
import ssl
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import AttributeOID

from ca.crypto.identities import sid_uri, upn_general_name, upn_is_valid

from .algorithms import AlgorithmPolicy, choose_algorithms
from .constants import (
    CONTENT_TYPE_CA_CERT,
    CONTENT_TYPE_NEXT_CA_CERT,
    CONTENT_TYPE_PKI_MESSAGE,
    NONCE_LENGTH,
    MessageType,
)
from .content import build_issuer_and_serial, build_issuer_and_subject
from .degenerate import parse_degenerate, parse_next_ca_cert
from .errors import ScepClientError, ScepError
from .request import CertRepResult, build_pki_message, parse_cert_rep, self_signed_signer, transaction_id_for
from .signeddata import DECODING_ERRORS

__all__ = [
    "SAN_TYPES",
    "ScepClient",
    "ScepIdentity",
    "build_csr",
    "general_name_from_text",
    "select_recipient",
    "tls_context",
]

_MAX_RESPONSE_BYTES = 1024 * 1024
_E = TypeVar("_E", bound=x509.ExtensionType)
_EXTENSION_ERRORS: tuple[type[Exception], ...] = (x509.ExtensionNotFound, *DECODING_ERRORS)
_BUNDLE_ERRORS: tuple[type[Exception], ...] = (ScepError, *DECODING_ERRORS)
_ISSUER_ERRORS: tuple[type[Exception], ...] = (InvalidSignature, *DECODING_ERRORS)


#: The ``type:`` prefixes of :func:`general_name_from_text` (case-insensitive), with what each one makes.
SAN_TYPES = {
    "dns": "DNS name",
    "email": "email address (rfc822Name)",
    "upn": "Microsoft UPN (otherName 1.3.6.1.4.1.311.20.2.3, UTF8String)",
    "uri": "URI",
    "ip": "IP address",
    "sid": "the KB5014754 SID URI tag:microsoft.com,2022-09-14:sid:<SID>",
}


def general_name_from_text(text: str) -> x509.GeneralName:
    """A subject alternative name from ``type:value`` (``dns:host.example.com``, ``upn:alice@corp.example``,
    ``email:...``, ``uri:...``, ``ip:192.0.2.1``, ``sid:S-1-5-21-...``); the type is case-insensitive, so
    the ``DNS:``/``UPN:``/``URI:`` texts of a check-in payload read back as the names they describe. UPNs
    and SIDs follow the one grammar of ``ca.crypto.identities``.

    Raises:
        ValueError: an unknown type or a value that type cannot hold.
    """
    kind, colon, value = text.partition(":")
    kind = kind.strip().lower()
    if not colon or not value:
        raise ValueError(f"{text!r} is not TYPE:VALUE (types: {', '.join(SAN_TYPES)})")
    try:
        if kind == "dns":
            return x509.DNSName(value)
        if kind in {"email", "rfc822"}:
            return x509.RFC822Name(value)
        if kind == "upn":
            if not upn_is_valid(value):
                raise ValueError(f"{value!r} is not a user principal name (name@domain)")
            return upn_general_name(value)
        if kind in {"uri", "url"}:
            return x509.UniformResourceIdentifier(value)
        if kind == "ip":
            return x509.IPAddress(ipaddress.ip_address(value))
        if kind == "sid":
            return sid_uri(value)
    except (TypeError, ValueError) as exc:  # e.g. cryptography refuses a DNS name that is not an A-label
        raise ValueError(f"{text!r}: {exc}") from exc
    raise ValueError(f"unknown subject alternative name type {kind!r} (types: {', '.join(SAN_TYPES)})")


def build_csr(
    key: rsa.RSAPrivateKey,
    subject: x509.Name,
    *,
    sans: Sequence[x509.GeneralName] = (),
    challenge_password: str | None = None,
) -> x509.CertificateSigningRequest:
    """A PKCS#10 request signed with SHA-256, with ``sans`` (subjectAltName, in this order) and
    ``challenge_password`` (PKCS#9) when given. With an empty subject the SAN extension is critical
    (RFC 5280 section 4.2.1.6).
    """
    builder = x509.CertificateSigningRequestBuilder().subject_name(subject)
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(list(sans)), critical=not subject.rdns)
    if challenge_password is not None:
        builder = builder.add_attribute(AttributeOID.CHALLENGE_PASSWORD, challenge_password.encode())
    return builder.sign(key, hashes.SHA256())


def tls_context(cafile: str | None = None) -> ssl.SSLContext:
    """The TLS context of https requests: certificate and host name verified against ``cafile`` (PEM CA
    certificates) or, without one, the system's trust store.
    """
    try:
        return ssl.create_default_context(cafile=cafile)
    except (OSError, ssl.SSLError) as exc:
        raise ScepClientError(f"CA file {cafile}: {exc}") from exc


def select_recipient(certificates: Sequence[x509.Certificate]) -> x509.Certificate:
    """The certificate to encrypt requests to, from a GetCACert reply.

    An RA (non-CA) certificate allowing keyEncipherment first (NDES sends separate RA signing and
    encryption certificates), then any RA certificate, then the CA certificate.
    """
    if not certificates:
        raise ScepClientError("GetCACert returned no certificates")

    def rank(certificate: x509.Certificate) -> int:
        constraints = _extension(certificate, x509.BasicConstraints)
        usage = _extension(certificate, x509.KeyUsage)
        is_ca = constraints is not None and constraints.ca
        encipher = usage is None or usage.key_encipherment
        return (2 if is_ca else 0) + (0 if encipher else 1)

    return min(certificates, key=rank)


def _extension(certificate: x509.Certificate, kind: type[_E]) -> _E | None:
    """The extension's value, None when absent or undecodable (these are the server's certificates)."""
    try:
        return certificate.extensions.get_extension_for_class(kind).value
    except _EXTENSION_ERRORS:
        return None


def _pinned(certificates: Sequence[x509.Certificate], fingerprint: bytes) -> list[x509.Certificate]:
    """The pinned certificate and the certificates it issued directly (its RA certificates).

    Anything else in the reply is dropped, so that a tampered GetCACert reply cannot slip in an RA of its
    own next to the genuine CA certificate.
    """
    pinned = [cert for cert in certificates if cert.fingerprint(hashes.SHA256()) == fingerprint]
    if not pinned:
        raise ScepClientError("no certificate in the GetCACert reply matches the CA fingerprint")
    issued = [cert for cert in certificates if cert != pinned[0] and _issued_by(cert, pinned[0])]
    return [*issued, pinned[0]]


def _issued_by(certificate: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        certificate.verify_directly_issued_by(issuer)
    except _ISSUER_ERRORS:
        return False
    return True


@dataclass(frozen=True)
class ScepIdentity:
    """Who signs a request: the certificate and key (self-signed for PKCSReq, the current one for renewal)."""

    certificate: x509.Certificate
    key: rsa.RSAPrivateKey


class ScepClient:
    """A SCEP client for one server URL (``http(s)://host/path``, without ``?operation=``)."""

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 30.0,
        ca_identifier: str | None = None,
        ca_fingerprint: bytes | None = None,
        policy: AlgorithmPolicy | None = None,
        cafile: str | None = None,
    ) -> None:
        """Configure the client.

        Args:
            url: the SCEP endpoint.
            timeout: seconds per HTTP request.
            ca_identifier: the ``message`` sent with GetCACaps/GetCACert, if the server needs one.
            ca_fingerprint: SHA-256 of the CA certificate (trust anchor); then only that certificate and the
                RA certificates it issued are used from GetCACert.
            policy: which algorithms the client accepts (no legacy ones by default).
            cafile: for an https URL, the CA certificates (PEM) its server certificate must chain to; the
                system's trust store without one.
        """
        scheme = urllib.parse.urlsplit(url).scheme
        if scheme not in {"http", "https"}:
            raise ValueError(f"SCEP URL must be http or https, not {scheme!r}")
        self.url = url
        self._tls = tls_context(cafile) if scheme == "https" else None
        self.timeout = timeout
        self.ca_identifier = ca_identifier
        self.ca_fingerprint = ca_fingerprint
        self.policy = policy or AlgorithmPolicy()
        self._caps: list[str] | None = None
        self._ca_certificates: list[x509.Certificate] | None = None

    # -- HTTP operations -------------------------------------------------------------------------------

    def get_ca_caps(self) -> list[str]:
        """GetCACaps keywords; an HTTP error or empty reply means no capabilities (RFC 8894 §3.5.2)."""
        if self._caps is None:
            try:
                _, body = self._http("GET", "GetCACaps", self.ca_identifier)
            except ScepClientError:
                body = b""
            self._caps = [
                line.strip() for line in body.decode("ascii", "replace").splitlines() if line.strip()
            ]
        return self._caps

    def get_ca_cert(self) -> list[x509.Certificate]:
        """GetCACert: one DER certificate (x-x509-ca-cert) or a degenerate bundle (x-x509-ca-ra-cert)."""
        if self._ca_certificates is None:
            content_type, body = self._http("GET", "GetCACert", self.ca_identifier)
            try:
                if content_type == CONTENT_TYPE_CA_CERT:
                    certificates = [x509.load_der_x509_certificate(body)]
                else:
                    certificates, _ = parse_degenerate(body)
            except _BUNDLE_ERRORS as exc:
                raise ScepClientError(f"GetCACert reply ({content_type}) cannot be decoded: {exc}") from exc
            if not certificates:
                raise ScepClientError("GetCACert returned no certificates")
            if self.ca_fingerprint is not None:
                certificates = _pinned(certificates, self.ca_fingerprint)
            self._ca_certificates = certificates
        return self._ca_certificates

    def get_next_ca_cert(self) -> list[x509.Certificate]:
        """GetNextCACert: the rollover certificates, verified against the current GetCACert certificates."""
        current = self.get_ca_cert()
        content_type, body = self._http("GET", "GetNextCACert", self.ca_identifier)
        if content_type != CONTENT_TYPE_NEXT_CA_CERT:
            raise ScepClientError(f"GetNextCACert answered {content_type}, not {CONTENT_TYPE_NEXT_CA_CERT}")
        return parse_next_ca_cert(body, signer_certificates=current, policy=self.policy)

    def pki_operation(self, der: bytes, *, method: str = "POST") -> bytes:
        """Send a DER pkiMessage (POST body, or base64 in the GET query) and return the DER reply."""
        if method == "POST":
            _, body = self._http("POST", "PKIOperation", None, der)
        elif method == "GET":
            _, body = self._http("GET", "PKIOperation", base64.b64encode(der).decode("ascii"))
        else:
            raise ValueError(f"method must be POST or GET, not {method!r}")
        return body

    # -- transactions ----------------------------------------------------------------------------------

    def enroll(
        self,
        csr: x509.CertificateSigningRequest,
        key: rsa.RSAPrivateKey,
        *,
        signer: ScepIdentity | None = None,
        transaction_id: str | None = None,
    ) -> CertRepResult:
        """PKCSReq (19). ``csr`` carries the challengePassword; ``key`` is its private key.

        The request is signed by ``signer`` or else by a new self-signed certificate for ``key`` (RFC 8894
        §2.3). To poll after PENDING, pass your own ``signer`` and reuse it with ``result.transaction_id``.
        """
        signer = signer or ScepIdentity(self_signed_signer(key, csr.subject), key)
        return self._transact(
            MessageType.PKCS_REQ,
            csr.public_bytes(serialization.Encoding.DER),
            transaction_id or transaction_id_for(csr.public_key()),
            signer,
        )

    def renew(
        self, csr: x509.CertificateSigningRequest, *, current: ScepIdentity, transaction_id: str | None = None
    ) -> CertRepResult:
        """RenewalReq (17), signed by the ``current`` certificate and key; ``csr`` may hold a new key."""
        return self._transact(
            MessageType.RENEWAL_REQ,
            csr.public_bytes(serialization.Encoding.DER),
            transaction_id or transaction_id_for(csr.public_key()),
            current,
        )

    def poll(
        self, csr: x509.CertificateSigningRequest, *, signer: ScepIdentity, transaction_id: str
    ) -> CertRepResult:
        """CertPoll (20) for a PENDING enrolment: same transactionID and signer as the PKCSReq."""
        issuer = self._ca_certificate().subject
        return self._transact(
            MessageType.CERT_POLL, build_issuer_and_subject(issuer, csr.subject), transaction_id, signer
        )

    def get_cert(
        self, serial_number: int, *, signer: ScepIdentity, issuer: x509.Name | None = None
    ) -> CertRepResult:
        """GetCert (21): a certificate by issuer and serial number."""
        issuer = issuer or self._ca_certificate().subject
        return self._transact(
            MessageType.GET_CERT,
            build_issuer_and_serial(issuer, serial_number),
            transaction_id_for(signer.certificate.public_key()),
            signer,
        )

    def get_crl(self, certificate: x509.Certificate, *, signer: ScepIdentity) -> CertRepResult:
        """GetCRL (22): the CRL covering ``certificate``."""
        return self._transact(
            MessageType.GET_CRL,
            build_issuer_and_serial(certificate.issuer, certificate.serial_number),
            transaction_id_for(signer.certificate.public_key()),
            signer,
        )

    def _transact(
        self, message_type: MessageType, message_data: bytes, transaction_id: str, signer: ScepIdentity
    ) -> CertRepResult:
        caps = self.get_ca_caps()
        certificates = self.get_ca_cert()
        cipher, digest = choose_algorithms(caps, self.policy)
        nonce = os.urandom(NONCE_LENGTH)
        request = build_pki_message(
            message_type=message_type,
            transaction_id=transaction_id,
            sender_nonce=nonce,
            message_data=message_data,
            recipient_certificate=select_recipient(certificates),
            signer_certificate=signer.certificate,
            signer_key=signer.key,
            cipher=cipher,
            digest=digest,
        )
        upper = {keyword.upper() for keyword in caps}
        method = "POST" if upper & {"POSTPKIOPERATION", "SCEPSTANDARD"} else "GET"
        reply = self.pki_operation(request, method=method)
        return parse_cert_rep(
            reply,
            signer_key=signer.key,
            signer_certificate=signer.certificate,
            expected_recipient_nonce=nonce,
            ra_certificate=certificates,
            expected_transaction_id=transaction_id,
            policy=self.policy,
        )

    def _ca_certificate(self) -> x509.Certificate:
        """The CA certificate of the GetCACert reply (the last one of a chain if none says it is a CA)."""
        certificates = self.get_ca_cert()
        for certificate in certificates:
            constraints = _extension(certificate, x509.BasicConstraints)
            if constraints is not None and constraints.ca:
                return certificate
        return certificates[-1]

    def _http(
        self, method: str, operation: str, message: str | None, body: bytes | None = None
    ) -> tuple[str, bytes]:
        query = {"operation": operation}
        if message is not None:
            query["message"] = message
        parts = urllib.parse.urlsplit(self.url)
        joined = "&".join(filter(None, [parts.query, urllib.parse.urlencode(query)]))
        url = urllib.parse.urlunsplit(parts._replace(query=joined))
        headers = {"Content-Type": CONTENT_TYPE_PKI_MESSAGE} if body is not None else {}
        request = urllib.request.Request(url, data=body, method=method, headers=headers)  # noqa: S310 (scheme checked)
        try:
            with urllib.request.urlopen(  # noqa: S310 (scheme checked)
                request, timeout=self.timeout, context=self._tls
            ) as response:
                data = response.read(_MAX_RESPONSE_BYTES + 1)
                content_type = response.headers.get_content_type()
        except urllib.error.HTTPError as exc:
            detail = exc.read(200).decode("utf-8", "replace").strip()
            raise ScepClientError(f"{operation}: HTTP {exc.code} {detail}") from exc
        except (OSError, http.client.HTTPException) as exc:
            raise ScepClientError(f"{operation}: {exc}") from exc
        if len(data) > _MAX_RESPONSE_BYTES:
            raise ScepClientError(f"{operation}: reply larger than {_MAX_RESPONSE_BYTES} bytes")
        return content_type, data
