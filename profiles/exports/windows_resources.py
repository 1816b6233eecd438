"""Windows MDM payloads that use a certificate: WiFi CSP (WLAN profile with EAP-TLS), VPNv2 CSP (IKEv2
with EAP-TLS or the machine certificate) and ClientCertificateInstall/PFXCertInstall (a PKCS#12).

Pure: ``xml.etree.ElementTree`` builds every document, so values are escaped. The WLAN profile follows
the WLAN_profile schema (``http://www.microsoft.com/networking/WLAN/profile/v1``: name, SSIDConfig,
connectionType, connectionMode, MSM/security/authEncryption with useOneX, OneX with the EAP
configuration); the EAP configuration is an EapHostConfig for EAP-TLS (type 13) whose certificate
selection filters on the issuing CA's hash (``CAHashList``) and the profile's EKUs (``ClientAuthEKUList``),
so that the SCEP or PKCS certificate is the one chosen. Sources: Microsoft "WLAN_profile Schema
Elements", "EAP-TLS schema" / "EapHostConfig", "WiFi CSP", "VPNv2 CSP", "ClientCertificateInstall CSP".
"""

from __future__ import annotations

import base64
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from profiles.exports.common import ExportError, check_identifier, xml_text_problem

__all__ = [
    "EAP_TLS_TYPE",
    "WLAN_NAMESPACE",
    "EapTlsSettings",
    "build_pfx_syncml",
    "build_vpnv2_syncml",
    "build_wifi_syncml",
    "eap_tls_config",
    "vpn_profile_xml",
    "wlan_profile_xml",
]

WLAN_NAMESPACE: Final = "http://www.microsoft.com/networking/WLAN/profile/v1"
ONEX_NAMESPACE: Final = "http://www.microsoft.com/networking/OneX/v1"
EAP_HOST_NAMESPACE: Final = "http://www.microsoft.com/provisioning/EapHostConfig"
EAP_COMMON_NAMESPACE: Final = "http://www.microsoft.com/provisioning/EapCommon"
BASE_EAP_NAMESPACE: Final = "http://www.microsoft.com/provisioning/BaseEapConnectionPropertiesV1"
EAP_TLS_V1: Final = "http://www.microsoft.com/provisioning/EapTlsConnectionPropertiesV1"
EAP_TLS_V2: Final = "http://www.microsoft.com/provisioning/EapTlsConnectionPropertiesV2"
EAP_TLS_V3: Final = "http://www.microsoft.com/provisioning/EapTlsConnectionPropertiesV3"
EAP_TLS_TYPE: Final = 13
_METINF: Final = "syncml:metinf"
#: WLAN ``authentication`` / ``encryption`` per security (the schema's enumerations).
_WLAN_SECURITY: Final = {"WPA2": ("WPA2", "AES"), "WPA3": ("WPA3ENT", "AES")}
#: PFXCertInstall ``KeyLocation``: 1 TPM or fail, 2 TPM if present else software, 3 software.
KEY_LOCATIONS: Final = frozenset({1, 2, 3})


@dataclass(frozen=True)
class EapTlsSettings:
    """EAP-TLS: which certificate the client presents and how it validates the server."""

    #: SHA-1 thumbprints (hex) of the CAs whose certificates may be chosen (the issuing CA and its root).
    issuer_thumbprints: tuple[str, ...]
    #: (name, OID) of the EKUs the chosen certificate must carry.
    ekus: tuple[tuple[str, str], ...]
    #: SHA-1 thumbprints (hex) of the roots the server's certificate may chain to.
    server_root_thumbprints: tuple[str, ...]
    server_names: tuple[str, ...] = ()


def _text(parent: ET.Element, tag: str, value: str) -> ET.Element:
    problem = xml_text_problem(value, forbidden="\r")
    if problem is not None:
        raise ExportError(f"{tag} contains {problem}, which XML cannot carry")
    element = ET.SubElement(parent, tag)
    element.text = value
    return element


def _spaced(thumbprint: str) -> str:
    """``AB CD ...``: how the EAP schema writes a hash."""
    raw = thumbprint.replace(" ", "").lower()
    if len(raw) != 40 or any(c not in "0123456789abcdef" for c in raw):
        raise ExportError(f"{thumbprint!r} is not a SHA-1 thumbprint")
    return " ".join(raw[i : i + 2] for i in range(0, 40, 2))


def eap_tls_config(settings: EapTlsSettings) -> ET.Element:
    """An ``EapHostConfig`` element for EAP-TLS with certificate filtering."""
    if not settings.issuer_thumbprints or not settings.ekus:
        raise ExportError("EAP-TLS certificate selection needs the issuing CA and at least one EKU")
    host = ET.Element(f"{{{EAP_HOST_NAMESPACE}}}EapHostConfig")
    method = ET.SubElement(host, f"{{{EAP_HOST_NAMESPACE}}}EapMethod")
    for tag, value in (
        ("Type", str(EAP_TLS_TYPE)),
        ("VendorId", "0"),
        ("VendorType", "0"),
        ("AuthorId", "0"),
    ):
        _text(method, f"{{{EAP_COMMON_NAMESPACE}}}{tag}", value)
    config = ET.SubElement(host, f"{{{EAP_HOST_NAMESPACE}}}Config")
    eap = ET.SubElement(config, f"{{{BASE_EAP_NAMESPACE}}}Eap")
    _text(eap, f"{{{BASE_EAP_NAMESPACE}}}Type", str(EAP_TLS_TYPE))
    eap_type = ET.SubElement(eap, f"{{{EAP_TLS_V1}}}EapType")
    store = ET.SubElement(
        ET.SubElement(eap_type, f"{{{EAP_TLS_V1}}}CredentialsSource"), f"{{{EAP_TLS_V1}}}CertificateStore"
    )
    _text(store, f"{{{EAP_TLS_V1}}}SimpleCertSelection", "true")
    validation = ET.SubElement(eap_type, f"{{{EAP_TLS_V1}}}ServerValidation")
    _text(validation, f"{{{EAP_TLS_V1}}}DisableUserPromptForServerValidation", "true")
    _text(validation, f"{{{EAP_TLS_V1}}}ServerNames", ";".join(settings.server_names))
    for thumbprint in settings.server_root_thumbprints:
        _text(validation, f"{{{EAP_TLS_V1}}}TrustedRootCA", _spaced(thumbprint))
    _text(eap_type, f"{{{EAP_TLS_V1}}}DifferentUsername", "false")
    _text(eap_type, f"{{{EAP_TLS_V2}}}PerformServerValidation", "true")
    _text(eap_type, f"{{{EAP_TLS_V2}}}AcceptServerName", "true" if settings.server_names else "false")
    extensions = ET.SubElement(eap_type, f"{{{EAP_TLS_V2}}}TLSExtensions")
    filtering = ET.SubElement(extensions, f"{{{EAP_TLS_V3}}}FilteringInfo")
    hashes = ET.SubElement(filtering, f"{{{EAP_TLS_V3}}}CAHashList", {"Enabled": "true"})
    for thumbprint in settings.issuer_thumbprints:
        _text(hashes, f"{{{EAP_TLS_V3}}}IssuerHash", _spaced(thumbprint))
    mapping = ET.SubElement(filtering, f"{{{EAP_TLS_V3}}}EKUMapping")
    for name, oid in settings.ekus:
        entry = ET.SubElement(mapping, f"{{{EAP_TLS_V3}}}EKUMap")
        _text(entry, f"{{{EAP_TLS_V3}}}EKUName", name)
        _text(entry, f"{{{EAP_TLS_V3}}}EKUOID", oid)
    wanted = ET.SubElement(filtering, f"{{{EAP_TLS_V3}}}ClientAuthEKUList", {"Enabled": "true"})
    for name, _oid in settings.ekus:
        _text(ET.SubElement(wanted, f"{{{EAP_TLS_V3}}}EKUMapInList"), f"{{{EAP_TLS_V3}}}EKUName", name)
    return host


def wlan_profile_xml(
    *,
    ssid: str,
    security: str,
    eap: EapTlsSettings,
    user_certificate: bool,
    hidden_network: bool = False,
    auto_join: bool = True,
) -> str:
    """A ``WLANProfile`` document for an enterprise network with EAP-TLS (802.1X)."""
    raw = ssid.encode("utf-8")
    if not 1 <= len(raw) <= 32:
        raise ExportError(f"the SSID {ssid!r} must be 1 to 32 bytes")
    if security not in _WLAN_SECURITY:
        raise ExportError(f"unknown Wi-Fi security {security!r}")
    authentication, encryption = _WLAN_SECURITY[security]
    ET.register_namespace("", WLAN_NAMESPACE)
    profile = ET.Element(f"{{{WLAN_NAMESPACE}}}WLANProfile")
    _text(profile, f"{{{WLAN_NAMESPACE}}}name", ssid)
    ssid_config = ET.SubElement(profile, f"{{{WLAN_NAMESPACE}}}SSIDConfig")
    ssid_element = ET.SubElement(ssid_config, f"{{{WLAN_NAMESPACE}}}SSID")
    _text(ssid_element, f"{{{WLAN_NAMESPACE}}}hex", raw.hex().upper())
    _text(ssid_element, f"{{{WLAN_NAMESPACE}}}name", ssid)
    _text(ssid_config, f"{{{WLAN_NAMESPACE}}}nonBroadcast", "true" if hidden_network else "false")
    _text(profile, f"{{{WLAN_NAMESPACE}}}connectionType", "ESS")
    _text(profile, f"{{{WLAN_NAMESPACE}}}connectionMode", "auto" if auto_join else "manual")
    security_element = ET.SubElement(
        ET.SubElement(profile, f"{{{WLAN_NAMESPACE}}}MSM"), f"{{{WLAN_NAMESPACE}}}security"
    )
    auth = ET.SubElement(security_element, f"{{{WLAN_NAMESPACE}}}authEncryption")
    _text(auth, f"{{{WLAN_NAMESPACE}}}authentication", authentication)
    _text(auth, f"{{{WLAN_NAMESPACE}}}encryption", encryption)
    _text(auth, f"{{{WLAN_NAMESPACE}}}useOneX", "true")
    onex = ET.SubElement(security_element, f"{{{ONEX_NAMESPACE}}}OneX")
    _text(onex, f"{{{ONEX_NAMESPACE}}}authMode", "user" if user_certificate else "machine")
    ET.SubElement(onex, f"{{{ONEX_NAMESPACE}}}EAPConfig").append(eap_tls_config(eap))
    return ET.tostring(profile, encoding="unicode")


def vpn_profile_xml(*, servers: Sequence[str], eap: EapTlsSettings, user_certificate: bool) -> str:
    """A VPNv2 ``VPNProfile``: IKEv2, EAP-TLS with a user certificate or the machine certificate."""
    if not servers:
        raise ExportError("a VPN profile needs its server")
    profile = ET.Element("VPNProfile")
    native = ET.SubElement(profile, "NativeProfile")
    _text(native, "Servers", ";".join(check_identifier(s, "the VPN server") for s in servers))
    _text(native, "NativeProtocolType", "IKEv2")
    authentication = ET.SubElement(native, "Authentication")
    if user_certificate:
        _text(authentication, "UserMethod", "Eap")
        ET.SubElement(ET.SubElement(authentication, "Eap"), "Configuration").append(eap_tls_config(eap))
    else:
        _text(authentication, "MachineMethod", "Certificate")
    _text(native, "RoutingPolicyType", "SplitTunnel")
    _text(profile, "AlwaysOn", "false")
    return ET.tostring(profile, encoding="unicode")


class _Commands:
    def __init__(self, first_cmd_id: int) -> None:
        if first_cmd_id < 1:
            raise ExportError("CmdIDs start at 1")
        self.next_id = first_cmd_id
        self.fragments: list[str] = []

    def add(self, uri: str, *, fmt: str, data: str | None = None) -> None:
        element = ET.Element("Add")
        _text(element, "CmdID", str(self.next_id))
        self.next_id += 1
        item = ET.SubElement(element, "Item")
        _text(ET.SubElement(item, "Target"), "LocURI", uri)
        ET.SubElement(ET.SubElement(item, "Meta"), "Format", {"xmlns": _METINF}).text = fmt
        if data is not None:
            _text(item, "Data", data)
        self.fragments.append(ET.tostring(element, encoding="unicode"))


def _node_name(value: str, what: str) -> str:
    check_identifier(value, what)
    if any(c in value for c in "/\\") or xml_text_problem(value, forbidden="\t\n\r") is not None:
        raise ExportError(f"{what} {value!r} cannot name a CSP node")
    return value


def build_wifi_syncml(*, ssid: str, wlan_xml: str, user_certificate: bool, first_cmd_id: int = 1) -> str:
    """``./{User|Device}/Vendor/MSFT/WiFi/Profile/<SSID>/WlanXml``."""
    scope = "User" if user_certificate else "Device"
    commands = _Commands(first_cmd_id)
    commands.add(
        f"./{scope}/Vendor/MSFT/WiFi/Profile/{_node_name(ssid, 'the SSID')}/WlanXml", fmt="chr", data=wlan_xml
    )
    return "".join(commands.fragments)


def build_vpnv2_syncml(*, name: str, profile_xml: str, user_certificate: bool, first_cmd_id: int = 1) -> str:
    """``./{User|Device}/Vendor/MSFT/VPNv2/<name>/ProfileXML`` (the whole VPNProfile in one node)."""
    scope = "User" if user_certificate else "Device"
    node = _node_name(name.replace(" ", "%20"), "the VPN profile name")
    commands = _Commands(first_cmd_id)
    commands.add(f"./{scope}/Vendor/MSFT/VPNv2/{node}/ProfileXML", fmt="chr", data=profile_xml)
    return "".join(commands.fragments)


def build_pfx_syncml(
    *,
    unique_id: str,
    pkcs12_der: bytes,
    password: str,
    user_certificate: bool,
    key_location: int = 3,
    first_cmd_id: int = 1,
) -> str:
    """``ClientCertificateInstall/PFXCertInstall/<UniqueID>``: key location, the password (in clear, type 0:
    the SyncML channel is TLS), not exportable, then the PKCS#12 blob, which installs it.
    """
    if key_location not in KEY_LOCATIONS:
        raise ExportError(f"KeyLocation {key_location} is not 1, 2 or 3")
    if not pkcs12_der or not password:
        raise ExportError("a PFX install needs the PKCS#12 and its password")
    scope = "User" if user_certificate else "Device"
    node = _node_name(unique_id, "the UniqueID")
    base = f"./{scope}/Vendor/MSFT/ClientCertificateInstall/PFXCertInstall/{node}"
    commands = _Commands(first_cmd_id)
    commands.add(base, fmt="node")
    commands.add(f"{base}/KeyLocation", fmt="int", data=str(key_location))
    commands.add(f"{base}/PFXCertPassword", fmt="chr", data=password)
    commands.add(f"{base}/PFXCertPasswordEncryptionType", fmt="int", data="0")
    commands.add(f"{base}/PFXKeyExportable", fmt="bool", data="false")
    commands.add(f"{base}/PFXCertBlob", fmt="b64", data=base64.b64encode(pkcs12_der).decode("ascii"))
    return "".join(commands.fragments)
