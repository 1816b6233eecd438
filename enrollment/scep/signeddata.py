"""CMS SignedData (RFC 5652 §5) with one signer: parse, verify and sign.

This is the layer under the SCEP pkiMessage and the GetNextCACert reply. Parsing checks structure only and
turns every decoding error into :class:`MalformedMessage`; :func:`verify_signed_content` does the crypto
and raises :class:`ScepFailure`. asn1crypto encodes/decodes; every hash and signature is ``cryptography``.
"""

import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import TypeAlias

from asn1crypto import algos, cms, core
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from . import der, schema
from .algorithms import AlgorithmPolicy, DigestAlgorithm
from .constants import (
    MAX_CERTIFICATES,
    MAX_DIGEST_ALGORITHMS,
    MAX_MESSAGE_BYTES,
    MAX_SIGNED_ATTRIBUTES,
    OID_CONTENT_TYPE,
    OID_DATA,
    OID_MESSAGE_DIGEST,
    OID_RSA_ENCRYPTION,
    OID_SIGNED_DATA,
    OID_SIGNING_TIME,
    FailInfo,
)
from .errors import MalformedMessage, MessageTooLarge, ScepFailure

__all__ = [
    "DECODING_ERRORS",
    "SignedContent",
    "SignerKey",
    "asn1_certificate",
    "describe_error",
    "names_equal",
    "parse_signed_data",
    "sign_signed_data",
    "single_value",
    "verify_signed_content",
]

#: What asn1crypto and ``cryptography`` raise on hostile input. Parsers catch exactly these.
DECODING_ERRORS: tuple[type[Exception], ...] = (
    ValueError,  # includes UnicodeDecodeError
    TypeError,
    KeyError,
    IndexError,
    OverflowError,
    AttributeError,
    RecursionError,
    UnsupportedAlgorithm,
    x509.InvalidVersion,  # cryptography's own exceptions for hostile certificates and requests
    x509.DuplicateExtension,
    x509.UnsupportedGeneralNameType,
)

SignerKey: TypeAlias = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

# Signature algorithm OID -> (key family, digest implied by the OID or None for the bare key OIDs).
_SIGNATURE_ALGORITHMS: dict[str, tuple[str, DigestAlgorithm | None]] = {
    OID_RSA_ENCRYPTION: ("rsa", None),
    "1.2.840.113549.1.1.4": ("rsa", DigestAlgorithm.MD5),
    "1.2.840.113549.1.1.5": ("rsa", DigestAlgorithm.SHA1),
    "1.2.840.113549.1.1.11": ("rsa", DigestAlgorithm.SHA256),
    "1.2.840.113549.1.1.12": ("rsa", DigestAlgorithm.SHA384),
    "1.2.840.113549.1.1.13": ("rsa", DigestAlgorithm.SHA512),
    "1.2.840.10045.2.1": ("ec", None),  # id-ecPublicKey, seen in place of ecdsa-with-*
    "1.2.840.10045.4.1": ("ec", DigestAlgorithm.SHA1),
    "1.2.840.10045.4.3.2": ("ec", DigestAlgorithm.SHA256),
    "1.2.840.10045.4.3.3": ("ec", DigestAlgorithm.SHA384),
    "1.2.840.10045.4.3.4": ("ec", DigestAlgorithm.SHA512),
}
_ECDSA_OIDS = {
    digest: oid for oid, (family, digest) in _SIGNATURE_ALGORITHMS.items() if family == "ec" and digest
}


@dataclass(frozen=True)
class SignedContent:
    """A parsed SignedData with exactly one SignerInfo whose certificate was found.

    Every field is plain data; nothing is decoded lazily later.
    """

    econtent_type: str
    econtent: bytes | None
    #: SignedData.digestAlgorithms as dotted OIDs, in the order received (not covered by the signature).
    digest_algorithms: tuple[str, ...]
    certificates: tuple[x509.Certificate, ...]
    signer_certificate: x509.Certificate
    digest_algorithm: DigestAlgorithm | str  # the dotted OID when we do not know it
    signature_algorithm: str  # dotted OID
    signature: bytes
    #: The signed attributes re-tagged as the DER SET OF that was signed, or None when absent.
    signed_attributes: bytes | None
    #: Signed attribute type (dotted OID) -> DER of each value, in the order received.
    attributes: Mapping[str, tuple[bytes, ...]]
    content_type_attribute: str | None
    message_digest_attribute: bytes | None
    signing_time: datetime | None


def asn1_certificate(certificate: x509.Certificate) -> asn1_x509.Certificate:
    """The asn1crypto view of a ``cryptography`` certificate."""
    return asn1_x509.Certificate.load(certificate.public_bytes(serialization.Encoding.DER))


def names_equal(first: asn1_x509.Name, second: asn1_x509.Name) -> bool:
    """X.500 name equality as asn1crypto defines it (RFC 5280 §7.1 string preparation), with the common case
    first: the same DER encoding, which every client that copies the issuer from the certificate sends. The
    preparation (Unicode normalisation of every attribute) cost about a millisecond per PKIOperation.
    """
    return bool(first.dump() == second.dump() or first == second)


def parse_signed_data(
    der: bytes, *, max_size: int = MAX_MESSAGE_BYTES, extra_certificates: Sequence[x509.Certificate] = ()
) -> SignedContent:
    """Parse a ContentInfo holding a SignedData with one signer (structure only, no crypto).

    The signer certificate is looked up by the SignerInfo's sid among the SignedData ``certificates`` and
    then ``extra_certificates`` (certificates known out of band, e.g. from GetCACert).
    """
    if not der:
        raise MalformedMessage("empty message")
    if len(der) > max_size:
        raise MessageTooLarge(len(der), max_size)
    try:
        return _parse_signed_data(der, extra_certificates)
    except DECODING_ERRORS as exc:
        raise MalformedMessage(f"not a valid CMS SignedData: {describe_error(exc)}") from exc


def _parse_signed_data(der: bytes, extra_certificates: Sequence[x509.Certificate]) -> SignedContent:
    content_info = schema.ContentInfo.load(der, strict=True)
    content_type = content_info["content_type"].dotted
    if content_type != OID_SIGNED_DATA:
        raise MalformedMessage(f"not a CMS SignedData (content type {content_type})")
    signed_data = content_info["content"]
    if not isinstance(signed_data, schema.SignedData):
        raise MalformedMessage("SignedData content is missing")

    signer_infos = signed_data["signer_infos"]
    if len(signer_infos) != 1:
        raise MalformedMessage(f"SignedData must have exactly one SignerInfo, it has {len(signer_infos)}")
    signer_info = signer_infos[0]

    digest_algorithms = signed_data["digest_algorithms"]
    if len(digest_algorithms) > MAX_DIGEST_ALGORITHMS:
        raise MalformedMessage(f"SignedData lists more than {MAX_DIGEST_ALGORITHMS} digest algorithms")
    digest_set = tuple(_digest_identifier(item) for item in digest_algorithms)

    encap = signed_data["encap_content_info"]
    econtent_value = encap["content"]
    econtent = None if isinstance(econtent_value, core.Void) else bytes(econtent_value.native)

    if len(signed_data["certificates"]) > MAX_CERTIFICATES:
        raise MalformedMessage(f"SignedData has more than {MAX_CERTIFICATES} certificates")
    embedded: list[tuple[asn1_x509.Certificate, x509.Certificate]] = []
    for choice in signed_data["certificates"]:
        if choice.name == "certificate":
            embedded_der = choice.chosen.dump()
            embedded.append((choice.chosen, x509.load_der_x509_certificate(embedded_der)))
    candidates = embedded + [(asn1_certificate(cert), cert) for cert in extra_certificates]
    signer_certificate = _find_signer(signer_info["sid"], candidates)

    digest_oid = signer_info["digest_algorithm"]["algorithm"].dotted
    signed_attrs = signer_info["signed_attrs"]
    attributes: dict[str, tuple[bytes, ...]] = {}
    signed_attributes = None
    if not isinstance(signed_attrs, core.Void):
        if len(signed_attrs) > MAX_SIGNED_ATTRIBUTES:
            raise MalformedMessage(f"SignerInfo has more than {MAX_SIGNED_ATTRIBUTES} signed attributes")
        # The signature covers the attributes encoded as a SET OF (tag 0x31), not as the [0] IMPLICIT field.
        signed_attributes = b"\x31" + signed_attrs.dump()[1:]
        for attribute in signed_attrs:
            oid = attribute["type"].dotted
            if oid in attributes:
                raise MalformedMessage(f"signed attribute {oid} appears more than once")
            attributes[oid] = tuple(value.dump() for value in attribute["values"])

    return SignedContent(
        econtent_type=encap["content_type"].dotted,
        econtent=econtent,
        digest_algorithms=digest_set,
        certificates=tuple(cert for _, cert in embedded),
        signer_certificate=signer_certificate,
        digest_algorithm=DigestAlgorithm.from_oid(digest_oid) or digest_oid,
        signature_algorithm=signer_info["signature_algorithm"]["algorithm"].dotted,
        signature=signer_info["signature"].native,
        signed_attributes=signed_attributes,
        attributes=attributes,
        content_type_attribute=_content_type(attributes),
        message_digest_attribute=_message_digest(attributes),
        signing_time=_signing_time(attributes),
    )


def _digest_identifier(identifier: algos.DigestAlgorithm) -> str:
    """The dotted OID of one of SignedData.digestAlgorithms, its parameters decoded as well.

    Decoding checks the parameters: asn1crypto's schema allows only absent or NULL parameters for the
    digests it knows (RFC 5754 §2), so anything else there is malformed. An unknown OID is refused later,
    by :func:`verify_signed_content`.
    """
    _ = identifier["parameters"].native
    return str(identifier["algorithm"].dotted)


def _find_signer(
    sid: cms.SignerIdentifier, candidates: Sequence[tuple[asn1_x509.Certificate, x509.Certificate]]
) -> x509.Certificate:
    if sid.name == "issuer_and_serial_number":
        issuer = sid.chosen["issuer"]
        serial = sid.chosen["serial_number"].native
        for asn1_cert, cert in candidates:
            if asn1_cert.serial_number == serial and names_equal(asn1_cert.issuer, issuer):
                return cert
    else:
        key_id = sid.chosen.native
        for asn1_cert, cert in candidates:
            if asn1_cert.key_identifier == key_id:
                return cert
    raise MalformedMessage("the signer's certificate is not included in the SignedData")


def single_value(attributes: Mapping[str, tuple[bytes, ...]], oid: str, name: str) -> bytes | None:
    """The DER of the one value of attribute ``oid``, None when absent; MalformedMessage if not one value."""
    values = attributes.get(oid)
    if values is None:
        return None
    if len(values) != 1:
        raise MalformedMessage(f"{name} attribute must have exactly one value")
    return values[0]


def _content_type(attributes: Mapping[str, tuple[bytes, ...]]) -> str | None:
    value = single_value(attributes, OID_CONTENT_TYPE, "contentType")
    return None if value is None else str(cms.ContentType.load(value, strict=True).dotted)


def _message_digest(attributes: Mapping[str, tuple[bytes, ...]]) -> bytes | None:
    value = single_value(attributes, OID_MESSAGE_DIGEST, "messageDigest")
    return None if value is None else bytes(core.OctetString.load(value, strict=True).native)


def _signing_time(attributes: Mapping[str, tuple[bytes, ...]]) -> datetime | None:
    value = single_value(attributes, OID_SIGNING_TIME, "signingTime")
    if value is None:
        return None
    when = cms.Time.load(value, strict=True).native
    if not isinstance(when, datetime):
        raise MalformedMessage("signingTime is out of range")
    return when


def describe_error(exc: BaseException) -> str:
    """A short one-line description of a decoding error for a 400 body or log line."""
    text = str(exc).replace("\n", " ") or type(exc).__name__
    return text[:120]


def verify_signed_content(content: SignedContent, *, policy: AlgorithmPolicy) -> None:
    """Check algorithms against ``policy``, contentType, messageDigest and the signature.

    Raises ``ScepFailure(BAD_ALG)`` for a refused or unknown algorithm and ``ScepFailure(BAD_MESSAGE_CHECK)``
    when the message does not verify with the signer certificate's key (RSA PKCS#1 v1.5 or ECDSA).
    """
    digest = policy.check_digest(content.digest_algorithm)
    _check_digest_algorithms(content.digest_algorithms, digest)
    family, implied_digest = _SIGNATURE_ALGORITHMS.get(content.signature_algorithm, ("", None))
    if not family:
        raise ScepFailure(
            FailInfo.BAD_ALG, f"signature algorithm {content.signature_algorithm} is not supported"
        )
    if implied_digest is not None and implied_digest is not digest:
        raise ScepFailure(
            FailInfo.BAD_ALG,
            f"signature algorithm {content.signature_algorithm} does not match digest {digest.display_name}",
        )
    econtent = content.econtent or b""
    if content.signed_attributes is None:
        signed = econtent
    else:
        if content.content_type_attribute is None or content.message_digest_attribute is None:
            raise ScepFailure(
                FailInfo.BAD_MESSAGE_CHECK, "signed attributes lack contentType or messageDigest"
            )
        if content.content_type_attribute != content.econtent_type:
            raise ScepFailure(FailInfo.BAD_MESSAGE_CHECK, "contentType attribute does not match the content")
        if not hmac.compare_digest(content.message_digest_attribute, digest.digest(econtent)):
            raise ScepFailure(
                FailInfo.BAD_MESSAGE_CHECK, "messageDigest attribute does not match the content"
            )
        signed = content.signed_attributes
    try:
        public_key = content.signer_certificate.public_key()
    except DECODING_ERRORS as exc:
        raise ScepFailure(FailInfo.BAD_ALG, "the signer certificate's public key is not supported") from exc
    try:
        if family == "rsa" and isinstance(public_key, rsa.RSAPublicKey):
            public_key.verify(content.signature, signed, padding.PKCS1v15(), digest.hash_algorithm())
        elif family == "ec" and isinstance(public_key, ec.EllipticCurvePublicKey):
            public_key.verify(content.signature, signed, ec.ECDSA(digest.hash_algorithm()))
        else:
            raise ScepFailure(
                FailInfo.BAD_ALG, "the signature algorithm does not match the signer certificate's key type"
            )
    except (InvalidSignature, ValueError):  # ValueError: e.g. a signature longer than the modulus
        raise ScepFailure(
            FailInfo.BAD_MESSAGE_CHECK, "the signature does not verify with the signer certificate's key"
        ) from None


def _check_digest_algorithms(listed: Sequence[str], digest: DigestAlgorithm) -> None:
    """SignedData.digestAlgorithms must hold only digest algorithms we know, the signer's among them.

    The set is not covered by the signature: a message whose set was altered in transit is refused
    (badMessageCheck) instead of being read past, as an altered messageDigest is.
    """
    found: set[DigestAlgorithm] = set()
    for oid in listed:
        known = DigestAlgorithm.from_oid(oid)
        if known is None:
            raise ScepFailure(
                FailInfo.BAD_MESSAGE_CHECK,
                f"SignedData.digestAlgorithms lists {oid}, which is not a known digest algorithm",
            )
        found.add(known)
    if digest not in found:
        raise ScepFailure(
            FailInfo.BAD_MESSAGE_CHECK,
            f"the signer's digest algorithm {digest.display_name} is not among SignedData.digestAlgorithms",
        )


def sign_signed_data(
    *,
    econtent: bytes | None,
    attributes: Sequence[tuple[str, core.Asn1Value]],
    signer_certificate: x509.Certificate,
    signer_key: SignerKey,
    digest: DigestAlgorithm,
    certificates: Sequence[x509.Certificate] = (),
    signing_time: datetime | None = None,
) -> bytes:
    """Build and sign a ContentInfo(SignedData) with eContentType id-data.

    The signed attributes are contentType, signingTime (now unless given), messageDigest and
    ``attributes`` (OID, value). The signer is identified by issuerAndSerialNumber; its certificate comes
    first in ``certificates``, followed by ``certificates`` in order. RSA keys sign with PKCS#1 v1.5 and the
    rsaEncryption OID (as OpenSSL and micromdm do), EC keys with ECDSA.

    The structure is written with ``der`` around values already in DER (the certificates, the signer's
    issuer and serial number as they are encoded in its certificate, each attribute value): the same bytes
    asn1crypto produced from the same objects, at a fraction of the cost.
    """
    if digest is DigestAlgorithm.MD5:
        raise ValueError("refusing to sign with MD5")
    when = signing_time or datetime.now(tz=UTC)
    time_choice = "utc_time" if 1950 <= when.year < 2050 else "generalized_time"
    all_attributes = [
        (OID_CONTENT_TYPE, cms.ContentType(OID_DATA)),
        (OID_SIGNING_TIME, cms.Time(name=time_choice, value=when.astimezone(UTC))),
        (OID_MESSAGE_DIGEST, core.OctetString(digest.digest(econtent or b""))),
        *attributes,
    ]
    encoded_attributes = [
        der.sequence(der.object_identifier(oid), der.encode(der.SET, value.dump()))
        for oid, value in all_attributes
    ]
    to_sign = der.set_of(encoded_attributes)  # the DER SET OF that is signed (RFC 5652 §5.4)
    if isinstance(signer_key, rsa.RSAPrivateKey):
        signature = signer_key.sign(to_sign, padding.PKCS1v15(), digest.hash_algorithm())
        signature_algorithm = _signature_algorithm_der(OID_RSA_ENCRYPTION, rsa=True)
    else:
        signature = signer_key.sign(to_sign, ec.ECDSA(digest.hash_algorithm()))
        signature_algorithm = _signature_algorithm_der(_ECDSA_OIDS[digest], rsa=False)

    signer_der = signer_certificate.public_bytes(serialization.Encoding.DER)
    tbs = asn1_x509.Certificate.load(signer_der)["tbs_certificate"]
    certificate_ders = [signer_der]
    for certificate in certificates:
        encoded = certificate.public_bytes(serialization.Encoding.DER)
        if encoded != signer_der:
            certificate_ders.append(encoded)
    digest_algorithm = _digest_algorithm_der(digest)
    signer_info = der.sequence(
        _VERSION_1,
        der.sequence(tbs["issuer"].dump(), tbs["serial_number"].dump()),  # issuerAndSerialNumber
        digest_algorithm,
        der.set_of(encoded_attributes, tag=der.CONTEXT_0),  # signedAttrs [0] IMPLICIT
        signature_algorithm,
        der.encode(der.OCTET_STRING, signature),
    )
    encap = der.object_identifier(OID_DATA)
    if econtent is not None:
        encap += der.encode(der.CONTEXT_0, der.encode(der.OCTET_STRING, econtent))  # eContent [0] EXPLICIT
    signed_data = der.sequence(
        _VERSION_1,
        der.encode(der.SET, digest_algorithm),
        der.encode(der.SEQUENCE, encap),
        der.encode(der.CONTEXT_0, b"".join(certificate_ders)),  # certificates [0] IMPLICIT, in order
        der.encode(der.SET, signer_info),
    )
    return der.sequence(der.object_identifier(OID_SIGNED_DATA), der.encode(der.CONTEXT_0, signed_data))


_VERSION_1 = bytes((der.INTEGER, 1, 1))


@lru_cache(maxsize=16)
def _digest_algorithm_der(digest: DigestAlgorithm) -> bytes:
    return bytes(algos.DigestAlgorithm({"algorithm": digest.oid}).dump())


@lru_cache(maxsize=16)
def _signature_algorithm_der(oid: str, *, rsa: bool) -> bytes:
    value: dict[str, object] = {"algorithm": oid}
    if rsa:
        value["parameters"] = core.Null()
    return bytes(algos.SignedDigestAlgorithm(value).dump())
