"""SyncML for Windows MDM: ClientCertificateInstall (SCEP) and RootCATrustedCertificates CSPs.

Pure: builds XML fragments (``<Atomic>`` / ``<Add>``) from already-rendered values with
``xml.etree.ElementTree``, so every value is escaped and the output is well-formed whatever a challenge or
a subject contains. CmdIDs are numbered sequentially from ``first_cmd_id``; the caller wraps the fragment
in ``<SyncML><SyncBody>`` and continues numbering after the last CmdID.

Sources: Microsoft "ClientCertificateInstall CSP" and "RootCATrustedCertificates CSP"
(MicrosoftDocs/windows-itpro-docs, ``windows/client-management/mdm/``), cross-checked with [MS-MDE2]
and Intune SyncML observed in the field (shared/reference/intune-model.md §3.2).

Decisions where the sources are uncertain or disagree:

* ``KeyProtection`` (the reference notes it as unverified, with a different guess): taken from the CSP
  page's allowed values, 1 = TPM (fail if absent), 2 = TPM if present else software, 3 = software KSP
  (the CSP default), 4 = Windows Hello for Business / Passport (needs ``ContainerName``). So Intune's
  ``keyStorageProviderOption`` maps useTpmKspOtherwiseFail -> 1, useTpmKspOtherwiseUseSoftwareKsp -> 2,
  useSoftwareKsp -> 3, usePassportForWorkKspOtherwiseFail -> 4. The ``2`` seen in Intune's own
  SyncML for the default "TPM if present, otherwise software" agrees.
* ``HashAlgorithm``: the CSP page says several families are joined with ``+``; Intune has been observed
  sending ``SHA-1;SHA-2``. We follow the observed Intune form (:data:`HASH_ALGORITHM_SEPARATOR`).
* ``SubjectAlternativeNames`` type numbers are CertEnroll's ``AlternativeNameType``: 2 RFC 822 name,
  3 DNS name, 7 URL, 11 UPN (3 and 11 observed in Intune SyncML). A value containing ``;`` would split
  into a second SAN on the device and is refused.
* ``SubjectName`` uses the CertStrToName syntax of :func:`profiles.exports.x500.x500_subject_string`
  (values quoted, not backslash-escaped; dotted OIDs for attributes outside the documented key table).
"""

from __future__ import annotations

import base64
import enum
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from cryptography import x509

from ca.crypto.identities import upn_from_general_name
from profiles.exports.common import (
    ExportError,
    check_key_size,
    check_key_usage,
    sha1_fingerprint,
    xml_text_problem,
)
from profiles.exports.x500 import x500_subject_string
from profiles.naming.variables import CertificateType, RenderError
from profiles.options import DestinationStore, HashAlgorithm, KeyStorageProvider, ValidityScale

__all__ = [
    "HASH_ALGORITHM_SEPARATOR",
    "KEY_PROTECTION",
    "KEY_USAGE_DIGITAL_SIGNATURE",
    "KEY_USAGE_KEY_ENCIPHERMENT",
    "SAN_TYPE_DNS",
    "SAN_TYPE_EMAIL",
    "SAN_TYPE_UPN",
    "SAN_TYPE_URI",
    "CspScope",
    "ExportError",
    "HashAlgorithm",
    "KeyStorageProvider",
    "RootStore",
    "ValidityScale",
    "WindowsScepPayload",
    "build_root_syncml",
    "build_scep_syncml",
    "root_location_for_destination",
    "scep_node_uri",
    "subject_alternative_names_value",
]

KEY_USAGE_DIGITAL_SIGNATURE: Final = 0x80
KEY_USAGE_KEY_ENCIPHERMENT: Final = 0x20

SAN_TYPE_EMAIL: Final = 2
SAN_TYPE_DNS: Final = 3
SAN_TYPE_URI: Final = 7
SAN_TYPE_UPN: Final = 11

HASH_ALGORITHM_SEPARATOR: Final = ";"

_METINF_NAMESPACE: Final = "syncml:metinf"
_UNIQUE_ID_RE: Final = re.compile(r"[A-Za-z0-9._~-]{1,256}")
_OID_RE: Final = re.compile(r"[0-2](?:\.(?:0|[1-9][0-9]*))+")


class CspScope(enum.StrEnum):
    DEVICE = "Device"
    USER = "User"


#: ``Install/KeyProtection`` value per key storage provider (see the module docstring).
KEY_PROTECTION: Final[dict[KeyStorageProvider, int]] = {
    KeyStorageProvider.TPM_OTHERWISE_FAIL: 1,
    KeyStorageProvider.TPM_OTHERWISE_SOFTWARE: 2,
    KeyStorageProvider.SOFTWARE: 3,
    KeyStorageProvider.PASSPORT_OTHERWISE_FAIL: 4,
}


class RootStore(enum.StrEnum):
    ROOT = "Root"
    CA = "CA"


_DESTINATIONS: Final = {
    DestinationStore.COMPUTER_ROOT: (CspScope.DEVICE, RootStore.ROOT),
    DestinationStore.COMPUTER_INTERMEDIATE: (CspScope.DEVICE, RootStore.CA),
    DestinationStore.USER_INTERMEDIATE: (CspScope.USER, RootStore.CA),
}


@dataclass(frozen=True)
class WindowsScepPayload:
    """One SCEP certificate for the ClientCertificateInstall CSP, from already-rendered values."""

    unique_id: str
    certificate_type: CertificateType
    server_urls: tuple[str, ...]
    challenge: str
    subject: x509.Name
    #: The root the issuing CA chains to (``CAThumbprint``).
    ca_certificate: x509.Certificate
    eku_oids: tuple[str, ...]
    key_storage_provider: KeyStorageProvider = KeyStorageProvider.TPM_OTHERWISE_SOFTWARE
    digital_signature: bool = True
    key_encipherment: bool = True
    key_length: int = 2048
    hash_algorithms: tuple[HashAlgorithm, ...] = (HashAlgorithm.SHA2,)
    subject_alt_names: tuple[x509.GeneralName, ...] = ()
    valid_period: ValidityScale | None = None
    valid_period_units: int | None = None
    #: Minutes between polls while the server answers PENDING (CSP default 5, minimum 1).
    retry_delay: int | None = None
    #: Polls while PENDING (CSP default 3, 0-30).
    retry_count: int | None = None
    #: Required by the CSP with Windows Hello for Business (``PASSPORT_OTHERWISE_FAIL``).
    container_name: str | None = None
    template_name: str | None = None


#: Besides what XML cannot carry: tab, LF and CR, which a node's value cannot hold either.
_LINE_BREAKS: Final = "\t\n\r"


def _check_text(value: str, what: str) -> str:
    problem = xml_text_problem(value, forbidden=_LINE_BREAKS)
    if problem is not None:
        raise ExportError(f"{what} contains the character {problem}, which SyncML cannot carry")
    return value


def scep_node_uri(unique_id: str, certificate_type: CertificateType | str, node: str | None = None) -> str:
    """``./{Device|User}/Vendor/MSFT/ClientCertificateInstall/SCEP/{UniqueID}[/Install/<node>]``."""
    if not _UNIQUE_ID_RE.fullmatch(unique_id):
        raise ExportError(f"the SCEP UniqueID {unique_id!r} may only contain letters, digits and . _ ~ -")
    scope = CspScope.USER if CertificateType(certificate_type) is CertificateType.USER else CspScope.DEVICE
    base = f"./{scope}/Vendor/MSFT/ClientCertificateInstall/SCEP/{unique_id}"
    return base if node is None else f"{base}/Install/{node}"


def subject_alternative_names_value(names: Iterable[x509.GeneralName]) -> str:
    """``SubjectAlternativeNames``: ``type+value`` pairs joined with ``;`` (2 email, 3 DNS, 7 URI, 11 UPN)."""
    pairs: list[str] = []
    for name in names:
        kind: int
        value: str
        if isinstance(name, x509.RFC822Name):
            kind, value = SAN_TYPE_EMAIL, name.value
        elif isinstance(name, x509.DNSName):
            kind, value = SAN_TYPE_DNS, name.value
        elif isinstance(name, x509.UniformResourceIdentifier):
            kind, value = SAN_TYPE_URI, name.value
        else:
            upn = upn_from_general_name(name)
            if upn is None:
                raise ExportError(f"the Windows SCEP CSP cannot carry the subject alternative name {name!r}")
            kind, value = SAN_TYPE_UPN, upn
        if ";" in value:
            raise ExportError(f"the subject alternative name {value!r} contains ';', the CSP's separator")
        pairs.append(f"{kind}+{value}")
    return ";".join(pairs)


class _Commands:
    """Appends SyncML commands to a parent element with sequential CmdIDs."""

    def __init__(self, parent: ET.Element, first_cmd_id: int) -> None:
        if first_cmd_id < 1:
            raise ExportError("CmdIDs start at 1")
        self.parent = parent
        self.next_id = first_cmd_id

    def cmd_id(self, element: ET.Element) -> None:
        ET.SubElement(element, "CmdID").text = str(self.next_id)
        self.next_id += 1

    def command(self, verb: str, uri: str, *, fmt: str | None = None, data: str | None = None) -> None:
        element = ET.SubElement(self.parent, verb)
        self.cmd_id(element)
        item = ET.SubElement(element, "Item")
        ET.SubElement(ET.SubElement(item, "Target"), "LocURI").text = uri
        if fmt is not None:
            meta = ET.SubElement(item, "Meta")
            ET.SubElement(meta, "Format", {"xmlns": _METINF_NAMESPACE}).text = fmt
        if data is not None:
            ET.SubElement(item, "Data").text = _check_text(data, uri.rsplit("/", 1)[-1])


def _server_urls(urls: Iterable[str]) -> str:
    checked: list[str] = []
    for url in urls:
        if not url.lower().startswith(("https://", "http://")) or ";" in url or any(c.isspace() for c in url):
            raise ExportError(f"the SCEP server URL {url!r} must be an http(s) URL without ';' or spaces")
        checked.append(url)
    if not checked:
        raise ExportError("at least one SCEP server URL is required")
    return ";".join(checked)


def _eku_mapping(oids: Iterable[str]) -> str:
    checked = list(oids)
    if not checked:
        raise ExportError("at least one extended key usage is required (EKUMapping)")
    for oid in checked:
        if not _OID_RE.fullmatch(oid):
            raise ExportError(f"{oid!r} is not a dotted OID")
    return "+".join(checked)


def _hash_algorithms(payload: WindowsScepPayload) -> str:
    chosen = {HashAlgorithm(algorithm) for algorithm in payload.hash_algorithms}
    if not chosen:
        raise ExportError("at least one hash algorithm is required")
    if payload.key_storage_provider is KeyStorageProvider.PASSPORT_OTHERWISE_FAIL and (
        HashAlgorithm.SHA2 not in chosen or payload.key_length != 2048
    ):
        raise ExportError("Windows Hello for Business keys need SHA-2 and a 2048-bit key")
    return HASH_ALGORITHM_SEPARATOR.join(a.label for a in HashAlgorithm if a in chosen)


def _validate(payload: WindowsScepPayload) -> KeyStorageProvider:
    check_key_size(payload.key_length)
    check_key_usage(digital_signature=payload.digital_signature, key_encipherment=payload.key_encipherment)
    if not payload.challenge:
        raise ExportError("the SCEP challenge is empty")
    if (payload.valid_period is None) != (payload.valid_period_units is None):
        raise ExportError("ValidPeriod and ValidPeriodUnits must be given together")
    if payload.valid_period_units is not None and payload.valid_period_units < 1:
        raise ExportError("ValidPeriodUnits must be at least 1")
    if payload.retry_delay is not None and payload.retry_delay < 1:
        raise ExportError("RetryDelay must be at least 1 minute")
    if payload.retry_count is not None and not 0 <= payload.retry_count <= 30:
        raise ExportError("RetryCount must be between 0 and 30")
    ksp = KeyStorageProvider(payload.key_storage_provider)
    if ksp is KeyStorageProvider.PASSPORT_OTHERWISE_FAIL and not payload.container_name:
        raise ExportError("Windows Hello for Business key storage needs a ContainerName")
    return ksp


def build_scep_syncml(payload: WindowsScepPayload, *, first_cmd_id: int = 1) -> str:
    """An ``<Atomic>`` that creates the SCEP node, sets its ``Install`` nodes and ``Exec``s ``Enroll`` last.

    Raises:
        ExportError: a value is missing, out of range or cannot be carried by the CSP.
    """
    ksp = _validate(payload)
    try:
        subject_name = x500_subject_string(payload.subject)
    except RenderError as exc:
        raise ExportError(str(exc)) from exc
    key_usage = (KEY_USAGE_DIGITAL_SIGNATURE if payload.digital_signature else 0) | (
        KEY_USAGE_KEY_ENCIPHERMENT if payload.key_encipherment else 0
    )

    def node(name: str) -> str:
        return scep_node_uri(payload.unique_id, payload.certificate_type, name)

    atomic = ET.Element("Atomic")
    commands = _Commands(atomic, first_cmd_id)
    commands.cmd_id(atomic)
    commands.command("Add", scep_node_uri(payload.unique_id, payload.certificate_type), fmt="node")
    commands.command("Add", node("ServerURL"), fmt="chr", data=_server_urls(payload.server_urls))
    commands.command("Add", node("Challenge"), fmt="chr", data=payload.challenge)
    commands.command("Add", node("EKUMapping"), fmt="chr", data=_eku_mapping(payload.eku_oids))
    commands.command("Add", node("KeyUsage"), fmt="int", data=str(key_usage))
    commands.command("Add", node("SubjectName"), fmt="chr", data=subject_name)
    commands.command("Add", node("KeyProtection"), fmt="int", data=str(KEY_PROTECTION[ksp]))
    if payload.container_name:
        commands.command("Add", node("ContainerName"), fmt="chr", data=payload.container_name)
    if payload.template_name:
        commands.command("Add", node("TemplateName"), fmt="chr", data=payload.template_name)
    commands.command("Add", node("KeyLength"), fmt="int", data=str(payload.key_length))
    commands.command("Add", node("HashAlgorithm"), fmt="chr", data=_hash_algorithms(payload))
    thumbprint = sha1_fingerprint(payload.ca_certificate).hex().upper()
    commands.command("Add", node("CAThumbprint"), fmt="chr", data=thumbprint)
    if payload.subject_alt_names:
        sans = subject_alternative_names_value(payload.subject_alt_names)
        commands.command("Add", node("SubjectAlternativeNames"), fmt="chr", data=sans)
    if payload.valid_period is not None and payload.valid_period_units is not None:
        period = ValidityScale(payload.valid_period).label
        commands.command("Add", node("ValidPeriod"), fmt="chr", data=period)
        commands.command("Add", node("ValidPeriodUnits"), fmt="int", data=str(payload.valid_period_units))
    if payload.retry_delay is not None:
        commands.command("Add", node("RetryDelay"), fmt="int", data=str(payload.retry_delay))
    if payload.retry_count is not None:
        commands.command("Add", node("RetryCount"), fmt="int", data=str(payload.retry_count))
    commands.command("Exec", node("Enroll"))
    return ET.tostring(atomic, encoding="unicode")


def root_location_for_destination(destination: str) -> tuple[CspScope, RootStore]:
    """Map Intune's ``certificateDestinationStore`` to a RootCATrustedCertificates scope and store."""
    try:
        return _DESTINATIONS[DestinationStore(destination)]
    except ValueError:
        raise ExportError(f"unknown certificate destination store {destination!r}") from None


def build_root_syncml(
    certificate_der: bytes,
    *,
    store: RootStore | str = RootStore.ROOT,
    scope: CspScope | str = CspScope.DEVICE,
    first_cmd_id: int = 1,
) -> str:
    """An ``<Add>`` of ``./{scope}/Vendor/MSFT/RootCATrustedCertificates/{store}/<SHA1>/EncodedCertificate``.

    Raises:
        ExportError: ``certificate_der`` is not a DER certificate, or the store is unknown.
    """
    try:
        certificate = x509.load_der_x509_certificate(certificate_der)
    except ValueError as exc:
        raise ExportError(f"not a DER-encoded certificate: {exc}") from exc
    try:
        store_name, scope_name = RootStore(store), CspScope(scope)
    except ValueError as exc:
        raise ExportError(str(exc)) from exc
    thumbprint = sha1_fingerprint(certificate).hex().upper()
    uri = f"./{scope_name}/Vendor/MSFT/RootCATrustedCertificates/{store_name}/{thumbprint}/EncodedCertificate"
    container = ET.Element("_")
    _Commands(container, first_cmd_id).command(
        "Add", uri, fmt="b64", data=base64.b64encode(certificate_der).decode("ascii")
    )
    return ET.tostring(container[0], encoding="unicode")
