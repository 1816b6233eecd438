"""Apple configuration profiles (``.mobileconfig``) with trusted-root and SCEP payloads.

Pure: builds an XML property list from already-rendered values (``x509.Name``, ``x509.GeneralName``) and
``x509.Certificate`` objects. Keys follow ``apple/device-management`` ``com.apple.security.scep`` and
``com.apple.security.root``. The profile is not signed here.

Every string is checked before it is written: a character that XML cannot carry (C0 controls but tab
and LF, lone surrogates, U+FFFE, U+FFFF), and CR, which an XML parser turns into LF so the device would
read another value, make the export fail with :class:`ExportError` naming the key; a malformed profile
is never written.

Every ``PayloadUUID`` is a UUIDv5 of the payload's ``PayloadIdentifier`` (namespace
:data:`PAYLOAD_UUID_NAMESPACE`), so exporting the same profile twice gives the same UUIDs and a device
replaces the payload instead of adding a second one.
"""

from __future__ import annotations

import plistlib
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final, Protocol

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from ca.crypto.identities import upn_from_general_name
from profiles.exports.common import (
    ExportError,
    check_identifier,
    check_key_size,
    check_key_usage,
    check_unique,
    sha1_fingerprint,
    xml_text_problem,
)

__all__ = [
    "KEY_USAGE_DIGITAL_SIGNATURE",
    "KEY_USAGE_KEY_ENCIPHERMENT",
    "PAYLOAD_UUID_NAMESPACE",
    "ExportError",
    "ExtraPayload",
    "ProfileInfo",
    "RootCertificatePayload",
    "ScepPayload",
    "apple_subject",
    "apple_subject_alt_names",
    "build_mobileconfig",
    "payload_header",
    "payload_uuid",
]

#: Namespace of the deterministic payload UUIDs (a fixed value: changing it changes every UUID).
PAYLOAD_UUID_NAMESPACE: Final = uuid.uuid5(uuid.NAMESPACE_URL, "urn:certportal:mobileconfig:payload")

#: Apple ``Key Usage`` bits: 1 = signing, 4 = encryption.
KEY_USAGE_DIGITAL_SIGNATURE: Final = 1
KEY_USAGE_KEY_ENCIPHERMENT: Final = 4

# The short names Apple documents for ``Subject``; anything else is written as a dotted OID.
_APPLE_SUBJECT_KEYS: Final[dict[x509.ObjectIdentifier, str]] = {
    NameOID.COUNTRY_NAME: "C",
    NameOID.LOCALITY_NAME: "L",
    NameOID.STATE_OR_PROVINCE_NAME: "ST",
    NameOID.ORGANIZATION_NAME: "O",
    NameOID.ORGANIZATIONAL_UNIT_NAME: "OU",
    NameOID.COMMON_NAME: "CN",
}


@dataclass(frozen=True)
class ProfileInfo:
    """The outer ``Configuration`` payload."""

    identifier: str
    display_name: str
    organization: str = ""
    description: str = ""
    #: macOS ``PayloadScope`` ("System" or "User"); omitted when None.
    scope: str | None = None
    removal_disallowed: bool | None = None


@dataclass(frozen=True)
class RootCertificatePayload:
    """A ``com.apple.security.root`` payload (trusted root or intermediate CA certificate)."""

    identifier: str
    display_name: str
    certificate: x509.Certificate
    file_name: str


@dataclass(frozen=True)
class ScepPayload:
    """A ``com.apple.security.scep`` payload, from already-rendered values."""

    identifier: str
    display_name: str
    url: str
    subject: x509.Name
    challenge: str | None
    key_size: int = 2048
    digital_signature: bool = True
    key_encipherment: bool = True
    #: The root the issuing CA chains to; its SHA-1 fingerprint becomes ``CAFingerprint``.
    ca_certificate: x509.Certificate | None = None
    #: ``Name``: the CA identifier sent as ``GetCACert&message=<Name>``; omitted when None.
    name: str | None = None
    retries: int = 3
    retry_delay: int = 10
    subject_alt_names: tuple[x509.GeneralName, ...] = ()
    #: macOS only; omitted when None.
    allow_all_apps_access: bool | None = None
    #: macOS only; omitted when None.
    key_is_extractable: bool | None = None


def payload_uuid(identifier: str) -> str:
    """Deterministic, upper-case ``PayloadUUID`` for ``identifier``."""
    return str(uuid.uuid5(PAYLOAD_UUID_NAMESPACE, identifier)).upper()


def apple_subject(name: x509.Name) -> list[list[list[str]]]:
    """``Subject``: one array per RDN (encoded order), holding ``[type, value]`` pairs."""
    subject: list[list[list[str]]] = []
    for rdn in name.rdns:
        pairs: list[list[str]] = []
        for attribute in rdn:
            if not isinstance(attribute.value, str):
                raise ExportError(f"subject attribute {attribute.oid.dotted_string} has a binary value")
            pairs.append(
                [_APPLE_SUBJECT_KEYS.get(attribute.oid, attribute.oid.dotted_string), attribute.value]
            )
        subject.append(pairs)
    return subject


def apple_subject_alt_names(names: Iterable[x509.GeneralName]) -> dict[str, str | list[str]]:
    """``SubjectAltName``: rfc822Name, dNSName, uniformResourceIdentifier, ntPrincipalName.

    A key with one value holds a string, with several an array of strings (in the given order).
    """
    collected: dict[str, list[str]] = {}
    for name in names:
        key: str
        value: str
        if isinstance(name, x509.RFC822Name):
            key, value = "rfc822Name", name.value
        elif isinstance(name, x509.DNSName):
            key, value = "dNSName", name.value
        elif isinstance(name, x509.UniformResourceIdentifier):
            key, value = "uniformResourceIdentifier", name.value
        else:
            upn = upn_from_general_name(name)
            if upn is None:
                raise ExportError(
                    f"the Apple SCEP payload cannot carry the subject alternative name {name!r}"
                )
            key, value = "ntPrincipalName", upn
        collected.setdefault(key, []).append(value)
    return {key: values[0] if len(values) == 1 else values for key, values in collected.items()}


def _header(payload_type: str, identifier: str, display_name: str) -> dict[str, Any]:
    return {
        "PayloadType": payload_type,
        "PayloadVersion": 1,
        "PayloadIdentifier": identifier,
        "PayloadUUID": payload_uuid(identifier),
        "PayloadDisplayName": display_name,
    }


def _root_payload(payload: RootCertificatePayload) -> dict[str, Any]:
    check_identifier(payload.file_name, "the certificate file name")
    content = _header("com.apple.security.root", payload.identifier, payload.display_name)
    content["PayloadContent"] = payload.certificate.public_bytes(Encoding.DER)
    content["PayloadCertificateFileName"] = payload.file_name
    return content


def _scep_payload(payload: ScepPayload) -> dict[str, Any]:
    if not payload.url.lower().startswith(("https://", "http://")):
        raise ExportError(f"the SCEP URL {payload.url!r} must start with https:// or http://")
    check_key_size(payload.key_size)
    check_key_usage(digital_signature=payload.digital_signature, key_encipherment=payload.key_encipherment)
    if payload.retries < 0 or payload.retry_delay < 0:
        raise ExportError("Retries and RetryDelay must not be negative")

    key_usage = (KEY_USAGE_DIGITAL_SIGNATURE if payload.digital_signature else 0) | (
        KEY_USAGE_KEY_ENCIPHERMENT if payload.key_encipherment else 0
    )
    scep: dict[str, Any] = {
        "URL": payload.url,
        "Keysize": payload.key_size,
        "Key Type": "RSA",
        "Key Usage": key_usage,
        "Retries": payload.retries,
        "RetryDelay": payload.retry_delay,
    }
    if payload.name is not None:
        scep["Name"] = payload.name
    subject = apple_subject(payload.subject)
    if subject:
        scep["Subject"] = subject
    if payload.challenge is not None:
        scep["Challenge"] = payload.challenge
    if payload.ca_certificate is not None:
        scep["CAFingerprint"] = sha1_fingerprint(payload.ca_certificate)
    alt_names = apple_subject_alt_names(payload.subject_alt_names)
    if alt_names:
        scep["SubjectAltName"] = alt_names
    if payload.allow_all_apps_access is not None:
        scep["AllowAllAppsAccess"] = payload.allow_all_apps_access
    if payload.key_is_extractable is not None:
        scep["KeyIsExtractable"] = payload.key_is_extractable

    content = _header("com.apple.security.scep", payload.identifier, payload.display_name)
    content["PayloadContent"] = scep
    return content


def _check_strings(value: object, path: str) -> None:
    """Refuse any string (key or value) under ``value`` that the property list cannot carry unchanged."""
    if isinstance(value, str):
        problem = xml_text_problem(value, forbidden="\r")
        if problem is not None:
            raise ExportError(f"{path} contains {problem}, which a property list cannot carry")
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_strings(key, f"{path} key")
            _check_strings(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _check_strings(item, f"{path}[{index}]")


class ExtraPayload(Protocol):
    """A payload of another module (Wi-Fi, VPN, Exchange, PKCS#12): its identifier and its dictionary."""

    @property
    def identifier(self) -> str: ...

    def as_payload(self) -> dict[str, Any]: ...


def payload_header(payload_type: str, identifier: str, display_name: str) -> dict[str, Any]:
    """The keys every payload has (``PayloadType``, ``PayloadUUID`` from the identifier, ...)."""
    return _header(payload_type, identifier, display_name)


def _payload(payload: RootCertificatePayload | ScepPayload | ExtraPayload) -> dict[str, Any]:
    if isinstance(payload, RootCertificatePayload):
        return _root_payload(payload)
    if isinstance(payload, ScepPayload):
        return _scep_payload(payload)
    return payload.as_payload()


def build_mobileconfig(
    profile: ProfileInfo,
    payloads: Sequence[RootCertificatePayload | ScepPayload | ExtraPayload],
) -> bytes:
    """An unsigned XML ``.mobileconfig`` with ``payloads`` in the given order.

    Raises:
        ExportError: an identifier is empty or repeated, a value cannot be represented (for example a
            string with control characters), or a SCEP setting is out of range.
    """
    identifiers = [profile.identifier, *(payload.identifier for payload in payloads)]
    for identifier in identifiers:
        check_identifier(identifier, "a PayloadIdentifier")
    check_unique(identifiers, "PayloadIdentifier")

    content = [_payload(payload) for payload in payloads]
    document = _header("Configuration", profile.identifier, profile.display_name)
    document["PayloadContent"] = content
    if profile.organization:
        document["PayloadOrganization"] = profile.organization
    if profile.description:
        document["PayloadDescription"] = profile.description
    if profile.scope is not None:
        if profile.scope not in {"System", "User"}:
            raise ExportError(f'PayloadScope must be "System" or "User", not {profile.scope!r}')
        document["PayloadScope"] = profile.scope
    if profile.removal_disallowed is not None:
        document["PayloadRemovalDisallowed"] = profile.removal_disallowed
    _check_strings(document, "")
    try:
        return plistlib.dumps(document, fmt=plistlib.FMT_XML, sort_keys=True)
    except (ValueError, TypeError) as exc:
        raise ExportError(f"the profile cannot be written as a property list: {exc}") from exc
