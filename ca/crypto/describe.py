"""A certificate decoded for people: names instead of OIDs, extensions as readable lines. Pure: no ORM.

What the admin's certificate page shows (the reference's certificate dialog: subject, SANs, enhanced key
usage, key usage, validity, serial, thumbprints). Attribute and EKU names are the short names Windows and
OpenSSL show; an OID we have no name for is shown dotted.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from cryptography.x509.oid import (
    AuthorityInformationAccessOID,
    ExtendedKeyUsageOID,
    ExtensionOID,
    NameOID,
    ObjectIdentifier,
)

from ca.constants import OID_NTDS_CA_SECURITY_EXT, WELL_KNOWN_EKUS
from ca.crypto.names import general_name_to_text
from ca.crypto.serials import serial_to_hex

__all__ = [
    "ATTRIBUTE_NAMES",
    "CertificateDescription",
    "NameAttributeDescription",
    "certificate_describe",
    "eku_name",
    "name_to_readable",
    "subject_text_readable",
]

#: Short names of subject attributes (as Windows' certificate dialog and OpenSSL print them).
ATTRIBUTE_NAMES: dict[ObjectIdentifier, tuple[str, str]] = {
    NameOID.COMMON_NAME: ("CN", "Common name"),
    NameOID.ORGANIZATION_NAME: ("O", "Organization"),
    NameOID.ORGANIZATIONAL_UNIT_NAME: ("OU", "Organizational unit"),
    NameOID.COUNTRY_NAME: ("C", "Country"),
    NameOID.STATE_OR_PROVINCE_NAME: ("ST", "State or province"),
    NameOID.LOCALITY_NAME: ("L", "Locality"),
    NameOID.STREET_ADDRESS: ("STREET", "Street address"),
    NameOID.EMAIL_ADDRESS: ("E", "Email address"),
    NameOID.SERIAL_NUMBER: ("SERIALNUMBER", "Serial number"),
    NameOID.SURNAME: ("SN", "Surname"),
    NameOID.GIVEN_NAME: ("G", "Given name"),
    NameOID.TITLE: ("T", "Title"),
    NameOID.USER_ID: ("UID", "User ID"),
    NameOID.DOMAIN_COMPONENT: ("DC", "Domain component"),
    NameOID.POSTAL_CODE: ("PostalCode", "Postal code"),
    NameOID.UNSTRUCTURED_NAME: ("unstructuredName", "Unstructured name"),
    NameOID.PSEUDONYM: ("pseudonym", "Pseudonym"),
}

_EKU_NAMES = {
    **WELL_KNOWN_EKUS,
    ExtendedKeyUsageOID.TIME_STAMPING.dotted_string: "Time Stamping",
    ExtendedKeyUsageOID.OCSP_SIGNING.dotted_string: "OCSP Signing",
    ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE.dotted_string: "Any Purpose",
    "1.3.6.1.5.5.7.3.5": "IP security end system",
    "1.3.6.1.5.5.7.3.6": "IP security tunnel termination",
    "1.3.6.1.5.5.7.3.7": "IP security user",
}

_KEY_USAGES = (
    ("digital_signature", "Digital signature"),
    ("content_commitment", "Non-repudiation"),
    ("key_encipherment", "Key encipherment"),
    ("data_encipherment", "Data encipherment"),
    ("key_agreement", "Key agreement"),
    ("key_cert_sign", "Certificate signing"),
    ("crl_sign", "CRL signing"),
)

_EXTENSION_NAMES = {
    ExtensionOID.SUBJECT_ALTERNATIVE_NAME: "Subject alternative name",
    ExtensionOID.KEY_USAGE: "Key usage",
    ExtensionOID.EXTENDED_KEY_USAGE: "Enhanced key usage",
    ExtensionOID.BASIC_CONSTRAINTS: "Basic constraints",
    ExtensionOID.SUBJECT_KEY_IDENTIFIER: "Subject key identifier",
    ExtensionOID.AUTHORITY_KEY_IDENTIFIER: "Authority key identifier",
    ExtensionOID.CRL_DISTRIBUTION_POINTS: "CRL distribution points",
    ExtensionOID.AUTHORITY_INFORMATION_ACCESS: "Authority information access",
    ExtensionOID.CERTIFICATE_POLICIES: "Certificate policies",
    ExtensionOID.OCSP_NO_CHECK: "OCSP no check",
    OID_NTDS_CA_SECURITY_EXT: "SID (KB5014754 strong mapping)",
}


@dataclass(frozen=True)
class NameAttributeDescription:
    short_name: str
    label: str
    value: str


@dataclass(frozen=True)
class CertificateDescription:
    subject: str
    subject_attributes: tuple[NameAttributeDescription, ...]
    issuer: str
    serial: str
    not_before: dt.datetime
    not_after: dt.datetime
    sha1: str
    sha256: str
    public_key: str
    signature_algorithm: str
    sans: tuple[str, ...] = ()
    extended_key_usages: tuple[str, ...] = ()
    key_usages: tuple[str, ...] = ()
    is_ca: bool = False
    crl_urls: tuple[str, ...] = ()
    aia: tuple[str, ...] = ()
    extensions: tuple[str, ...] = field(default_factory=tuple)


def eku_name(oid: str) -> str:
    """``Client Authentication (1.3.6.1.5.5.7.3.2)``; an unnamed OID alone."""
    name = _EKU_NAMES.get(oid)
    return f"{name} ({oid})" if name else oid


def _attribute_short(oid: ObjectIdentifier) -> str:
    known = ATTRIBUTE_NAMES.get(oid)
    return known[0] if known else oid.dotted_string


def name_to_readable(name: x509.Name) -> str:
    """The subject as Windows shows it (RFC 4514's order: the last RDN first): ``CN=device-1, O=Example``,
    attributes by their short names (``E=``, not ``1.2.840.113549.1.9.1=``).
    """
    parts = []
    for rdn in reversed(name.rdns):
        parts.append(" + ".join(f"{_attribute_short(a.oid)}={_text(a.value)}" for a in rdn))
    return ", ".join(parts)


def subject_text_readable(text: str) -> str:
    """A stored RFC 4514 subject (``1.2.840.113549.1.9.1=a@b,CN=x``) as ``E=a@b, CN=x``; as it is if it does
    not parse.
    """
    try:
        return name_to_readable(x509.Name.from_rfc4514_string(text))
    except ValueError:
        return text


def _text(value: str | bytes) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def _public_key(certificate: x509.Certificate) -> str:
    key = certificate.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        return f"RSA {key.key_size} bits"
    if isinstance(key, ec.EllipticCurvePublicKey):
        return f"EC {key.curve.name} ({key.key_size} bits)"
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "Ed25519"
    if isinstance(key, ed448.Ed448PublicKey):
        return "Ed448"
    return type(key).__name__


def _extension(certificate: x509.Certificate, oid: ObjectIdentifier) -> x509.ExtensionType | None:
    try:
        return certificate.extensions.get_extension_for_oid(oid).value
    except x509.ExtensionNotFound:
        return None


def _signature_algorithm(certificate: x509.Certificate) -> str:
    """``sha256WithRSAEncryption`` (cryptography's name of the OID), or the dotted OID."""
    oid = certificate.signature_algorithm_oid
    name = getattr(oid, "_name", "")
    return name if name and name != "Unknown OID" else oid.dotted_string


def certificate_describe(certificate: x509.Certificate) -> CertificateDescription:
    sans = _extension(certificate, ExtensionOID.SUBJECT_ALTERNATIVE_NAME)
    ekus = _extension(certificate, ExtensionOID.EXTENDED_KEY_USAGE)
    key_usage = _extension(certificate, ExtensionOID.KEY_USAGE)
    basic = _extension(certificate, ExtensionOID.BASIC_CONSTRAINTS)
    cdp = _extension(certificate, ExtensionOID.CRL_DISTRIBUTION_POINTS)
    aia = _extension(certificate, ExtensionOID.AUTHORITY_INFORMATION_ACCESS)
    usages: list[str] = []
    if isinstance(key_usage, x509.KeyUsage):
        usages = [label for attribute, label in _KEY_USAGES if getattr(key_usage, attribute)]
        if key_usage.key_agreement:
            usages += [
                label
                for attribute, label in (
                    ("encipher_only", "Encipher only"),
                    ("decipher_only", "Decipher only"),
                )
                if getattr(key_usage, attribute)
            ]
    crl_urls = []
    if isinstance(cdp, x509.CRLDistributionPoints):
        crl_urls = [general_name_to_text(name) for point in cdp for name in (point.full_name or ())]
    access = []
    if isinstance(aia, x509.AuthorityInformationAccess):
        for description in aia:
            method = (
                "OCSP" if description.access_method == AuthorityInformationAccessOID.OCSP else "CA issuers"
            )
            access.append(f"{method}: {general_name_to_text(description.access_location)}")
    return CertificateDescription(
        subject=name_to_readable(certificate.subject),
        subject_attributes=tuple(
            NameAttributeDescription(
                short_name=_attribute_short(attribute.oid),
                label=ATTRIBUTE_NAMES.get(attribute.oid, ("", attribute.oid.dotted_string))[1],
                value=_text(attribute.value),
            )
            for attribute in certificate.subject
        ),
        issuer=name_to_readable(certificate.issuer),
        serial=serial_to_hex(certificate.serial_number),  # as stored and listed: 05AA..., not 5AA...
        not_before=certificate.not_valid_before_utc,
        not_after=certificate.not_valid_after_utc,
        sha1=certificate.fingerprint(hashes.SHA1()).hex().upper(),  # noqa: S303 - the thumbprint, not security
        sha256=certificate.fingerprint(hashes.SHA256()).hex().upper(),
        public_key=_public_key(certificate),
        signature_algorithm=_signature_algorithm(certificate),
        sans=tuple(general_name_to_text(name) for name in sans)
        if isinstance(sans, x509.SubjectAlternativeName)
        else (),
        extended_key_usages=tuple(eku_name(oid.dotted_string) for oid in ekus)
        if isinstance(ekus, x509.ExtendedKeyUsage)
        else (),
        key_usages=tuple(usages),
        is_ca=bool(isinstance(basic, x509.BasicConstraints) and basic.ca),
        crl_urls=tuple(crl_urls),
        aia=tuple(access),
        extensions=tuple(
            _EXTENSION_NAMES.get(extension.oid, extension.oid.dotted_string)
            + (" (critical)" if extension.critical else "")
            for extension in certificate.extensions
        ),
    )
