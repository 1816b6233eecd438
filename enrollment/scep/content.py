"""messageData, the plaintext inside the pkcsPKIEnvelope (RFC 8894 §3.3).

* PKCSReq (19) / RenewalReq (17): a PKCS#10 request, with the challengePassword inside it.
* CertPoll (20): IssuerAndSubject.
* GetCert (21) / GetCRL (22): IssuerAndSerialNumber.

Every parser raises ``ScepFailure(BAD_REQUEST)`` for content it cannot decode: by then the outer message
verified, so the client gets a proper CertRep FAILURE.
"""

from asn1crypto import cms, core
from asn1crypto import csr as asn1_csr
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.name import _ASN1Type
from cryptography.x509.oid import ObjectIdentifier

from . import schema
from .constants import MAX_CHALLENGE_PASSWORD_LENGTH, OID_CHALLENGE_PASSWORD, FailInfo
from .errors import ScepFailure
from .signeddata import DECODING_ERRORS, describe_error

__all__ = [
    "build_issuer_and_serial",
    "build_issuer_and_subject",
    "challenge_password",
    "check_csr_key_matches_signer",
    "parse_csr",
    "parse_issuer_and_serial",
    "parse_issuer_and_subject",
]

_CHALLENGE_TYPES = (
    core.PrintableString,
    core.UTF8String,
    core.IA5String,
    core.BMPString,
    core.TeletexString,
    core.UniversalString,
)
# asn1crypto string class -> the ASN.1 type cryptography keeps in a NameAttribute.
_NAME_STRING_TYPES: dict[type[core.AbstractString], _ASN1Type] = {
    core.UTF8String: _ASN1Type.UTF8String,
    core.PrintableString: _ASN1Type.PrintableString,
    core.IA5String: _ASN1Type.IA5String,
    core.TeletexString: _ASN1Type.T61String,
    core.BMPString: _ASN1Type.BMPString,
    core.UniversalString: _ASN1Type.UniversalString,
    core.VisibleString: _ASN1Type.VisibleString,
    core.NumericString: _ASN1Type.NumericString,
}


def parse_csr(plaintext: bytes) -> x509.CertificateSigningRequest:
    """Load a DER PKCS#10 request and check its self-signature.

    Raises:
        ScepFailure: BAD_REQUEST if it is not a PKCS#10 request, BAD_MESSAGE_CHECK if its signature does not
            verify, BAD_ALG if its signature algorithm is not supported.
    """
    try:
        csr = x509.load_der_x509_csr(plaintext)
    except DECODING_ERRORS:
        raise ScepFailure(
            FailInfo.BAD_REQUEST, "messageData is not a DER PKCS#10 certificate request"
        ) from None
    try:
        csr.signature_hash_algorithm  # noqa: B018  (raises UnsupportedAlgorithm for unknown OIDs)
        valid = csr.is_signature_valid
    except DECODING_ERRORS as exc:
        raise ScepFailure(
            FailInfo.BAD_ALG,
            f"the certificate request's signature algorithm is not supported: {describe_error(exc)}",
        ) from exc
    if not valid:
        raise ScepFailure(FailInfo.BAD_MESSAGE_CHECK, "the certificate request's self-signature is invalid")
    return csr


def challenge_password(csr: x509.CertificateSigningRequest) -> str | None:
    """The PKCS#9 challengePassword of ``csr``, or None when it has none.

    Accepted encodings: PrintableString, UTF8String, IA5String, BMPString, TeletexString (T61) and
    UniversalString.

    Raises:
        ScepFailure: BAD_REQUEST when the attribute is repeated, has more than one value, cannot be decoded
            or is longer than 255 characters (PKCS#9 ub-challengePassword).
    """
    password: str | None = None
    try:
        request = asn1_csr.CertificationRequest.load(csr.public_bytes(serialization.Encoding.DER))
        for attribute in request["certification_request_info"]["attributes"]:
            generic = schema.Attribute.load(attribute.dump(), strict=True)
            if generic["type"].dotted != OID_CHALLENGE_PASSWORD:
                continue
            if len(generic["values"]) != 1 or password is not None:
                raise ScepFailure(
                    FailInfo.BAD_REQUEST, "challengePassword must be one attribute with one value"
                )
            value = core.load(generic["values"][0].dump(), strict=True)
            if not isinstance(value, _CHALLENGE_TYPES):
                raise ScepFailure(FailInfo.BAD_REQUEST, "challengePassword is not a character string")
            password = str(value.native)
    except DECODING_ERRORS as exc:
        raise ScepFailure(
            FailInfo.BAD_REQUEST, f"challengePassword cannot be decoded: {describe_error(exc)}"
        ) from exc
    if password is not None and len(password) > MAX_CHALLENGE_PASSWORD_LENGTH:
        raise ScepFailure(
            FailInfo.BAD_REQUEST,
            f"challengePassword is longer than {MAX_CHALLENGE_PASSWORD_LENGTH} characters",
        )
    return password


def check_csr_key_matches_signer(
    csr: x509.CertificateSigningRequest, signer_certificate: x509.Certificate
) -> None:
    """PKCSReq rule (RFC 8894 §2.3): the self-signed signer certificate carries the CSR's key.

    Only the key is compared: micromdm's signer has the subject ``CN=SCEP SIGNER``, not the CSR subject.

    Raises:
        ScepFailure: BAD_REQUEST when the keys differ.
    """
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    csr_key = csr.public_key().public_bytes(serialization.Encoding.DER, spki)
    signer_key = signer_certificate.public_key().public_bytes(serialization.Encoding.DER, spki)
    if csr_key != signer_key:
        raise ScepFailure(
            FailInfo.BAD_REQUEST, "the certificate request's key is not the key that signed the message"
        )


def parse_issuer_and_subject(plaintext: bytes) -> tuple[x509.Name, x509.Name]:
    """Decode CertPoll messageData: IssuerAndSubject (issuer = CA name, subject = CSR subject).

    Raises:
        ScepFailure: BAD_REQUEST if malformed.
    """
    try:
        parsed = schema.IssuerAndSubject.load(plaintext, strict=True)
        return _name(parsed["issuer"]), _name(parsed["subject"])
    except DECODING_ERRORS as exc:
        raise ScepFailure(
            FailInfo.BAD_REQUEST, f"messageData is not an IssuerAndSubject: {describe_error(exc)}"
        ) from exc


def build_issuer_and_subject(issuer: x509.Name, subject: x509.Name) -> bytes:
    """Encode CertPoll messageData."""
    return bytes(
        schema.IssuerAndSubject({"issuer": _asn1_name(issuer), "subject": _asn1_name(subject)}).dump()
    )


def parse_issuer_and_serial(plaintext: bytes) -> tuple[x509.Name, int]:
    """Decode GetCert / GetCRL messageData: IssuerAndSerialNumber.

    Raises:
        ScepFailure: BAD_REQUEST if malformed.
    """
    try:
        parsed = cms.IssuerAndSerialNumber.load(plaintext, strict=True)
        return _name(parsed["issuer"]), int(parsed["serial_number"].native)
    except DECODING_ERRORS as exc:
        raise ScepFailure(
            FailInfo.BAD_REQUEST, f"messageData is not an IssuerAndSerialNumber: {describe_error(exc)}"
        ) from exc


def build_issuer_and_serial(issuer: x509.Name, serial_number: int) -> bytes:
    """Encode GetCert / GetCRL messageData."""
    return bytes(
        cms.IssuerAndSerialNumber({"issuer": _asn1_name(issuer), "serial_number": serial_number}).dump()
    )


def _asn1_name(name: x509.Name) -> asn1_x509.Name:
    return asn1_x509.Name.load(name.public_bytes())


def _name(name: asn1_x509.Name) -> x509.Name:
    """Convert an asn1crypto Name to a ``cryptography`` Name, keeping each value's string type."""
    rdns = []
    for rdn in name.chosen:
        attributes = []
        for type_and_value in rdn:
            value = core.load(type_and_value["value"].dump(), strict=True)
            string_type = _NAME_STRING_TYPES.get(type(value))
            if string_type is None:
                raise ValueError(f"name attribute {type_and_value['type'].dotted} is not a character string")
            oid = ObjectIdentifier(type_and_value["type"].dotted)
            attributes.append(x509.NameAttribute(oid, str(value.native), _type=string_type))
        rdns.append(x509.RelativeDistinguishedName(attributes))
    return x509.Name(rdns)
