"""Apple payloads that use a certificate: Wi-Fi (EAP-TLS), VPN (IKEv2), Exchange ActiveSync and PKCS#12.

Pure, like :mod:`profiles.exports.mobileconfig` (which writes them into the profile). The identity is
referenced by the ``PayloadUUID`` of the SCEP or PKCS#12 payload in the same profile
(``PayloadCertificateUUID``); the server is trusted through the root payload's UUID
(``PayloadCertificateAnchorUUID``) and the accepted server names (``TLSTrustedServerNames``). Keys and
values are those of ``apple/device-management`` (``com.apple.wifi.managed``, ``com.apple.vpn.managed``,
``com.apple.eas.account``, ``com.apple.security.pkcs12``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from profiles.exports.common import ExportError, check_identifier
from profiles.exports.mobileconfig import payload_header

__all__ = [
    "EAP_TLS",
    "ExchangePayload",
    "Pkcs12Payload",
    "VpnIkev2Payload",
    "WifiPayload",
]

#: EAP method type of EAP-TLS (RFC 5216), in ``AcceptEAPTypes``.
EAP_TLS: Final = 13
_ENCRYPTION_TYPES: Final = frozenset({"WPA2", "WPA3"})
_CERTIFICATE_TYPES: Final = frozenset({"RSA", "ECDSA256", "ECDSA384"})


def _uuid(value: str, what: str) -> str:
    return check_identifier(value, what)


@dataclass(frozen=True)
class WifiPayload:
    """``com.apple.wifi.managed``: an enterprise network authenticated with EAP-TLS."""

    identifier: str
    display_name: str
    ssid: str
    #: ``WPA2`` or ``WPA3`` (Enterprise: the EAP configuration makes it so).
    encryption_type: str
    identity_uuid: str
    anchor_uuids: tuple[str, ...]
    server_names: tuple[str, ...]
    hidden_network: bool = False
    auto_join: bool = True

    def as_payload(self) -> dict[str, Any]:
        if not 1 <= len(self.ssid.encode("utf-8")) <= 32:
            raise ExportError(f"the SSID {self.ssid!r} must be 1 to 32 bytes")
        if self.encryption_type not in _ENCRYPTION_TYPES:
            raise ExportError(f"EncryptionType {self.encryption_type!r} is not WPA2 or WPA3")
        if not self.server_names or not self.anchor_uuids:
            raise ExportError("EAP-TLS needs the server names and the root that the server chains to")
        content = payload_header("com.apple.wifi.managed", self.identifier, self.display_name)
        content.update(
            SSID_STR=self.ssid,
            HIDDEN_NETWORK=self.hidden_network,
            AutoJoin=self.auto_join,
            EncryptionType=self.encryption_type,
            PayloadCertificateUUID=_uuid(self.identity_uuid, "the identity's PayloadUUID"),
            EAPClientConfiguration={
                "AcceptEAPTypes": [EAP_TLS],
                "TLSTrustedServerNames": list(self.server_names),
                "PayloadCertificateAnchorUUID": list(self.anchor_uuids),
            },
        )
        return content


@dataclass(frozen=True)
class VpnIkev2Payload:
    """``com.apple.vpn.managed`` of type IKEv2 with certificate authentication."""

    identifier: str
    display_name: str
    remote_address: str
    remote_identifier: str
    local_identifier: str
    identity_uuid: str
    #: ``RSA``, ``ECDSA256`` or ``ECDSA384``: the identity's key.
    certificate_type: str = "RSA"
    #: The common name of the CA that issued the server's certificate, when known.
    server_issuer_common_name: str | None = None

    def as_payload(self) -> dict[str, Any]:
        for value, what in (
            (self.remote_address, "RemoteAddress"),
            (self.remote_identifier, "RemoteIdentifier"),
            (self.local_identifier, "LocalIdentifier"),
        ):
            check_identifier(value, what)
        if self.certificate_type not in _CERTIFICATE_TYPES:
            raise ExportError(f"CertificateType {self.certificate_type!r} is not supported")
        ikev2: dict[str, Any] = {
            "RemoteAddress": self.remote_address,
            "RemoteIdentifier": self.remote_identifier,
            "LocalIdentifier": self.local_identifier,
            "AuthenticationMethod": "Certificate",
            "CertificateType": self.certificate_type,
            "PayloadCertificateUUID": _uuid(self.identity_uuid, "the identity's PayloadUUID"),
            "ExtendedAuthEnabled": 0,
        }
        if self.server_issuer_common_name:
            ikev2["ServerCertificateIssuerCommonName"] = self.server_issuer_common_name
        content = payload_header("com.apple.vpn.managed", self.identifier, self.display_name)
        content.update(UserDefinedName=self.display_name, VPNType="IKEv2", IKEv2=ikev2)
        return content


@dataclass(frozen=True)
class ExchangePayload:
    """``com.apple.eas.account``: Exchange ActiveSync over TLS, authenticated with the identity."""

    identifier: str
    display_name: str
    host: str
    email_address: str
    user_name: str
    identity_uuid: str

    def as_payload(self) -> dict[str, Any]:
        check_identifier(self.host, "the Exchange host")
        check_identifier(self.email_address, "the email address")
        content = payload_header("com.apple.eas.account", self.identifier, self.display_name)
        content.update(
            Host=self.host,
            SSL=True,
            EmailAddress=self.email_address,
            UserName=self.user_name,
            PayloadCertificateUUID=_uuid(self.identity_uuid, "the identity's PayloadUUID"),
        )
        return content


@dataclass(frozen=True)
class Pkcs12Payload:
    """``com.apple.security.pkcs12``: a server-generated identity and the password that opens it."""

    identifier: str
    display_name: str
    pkcs12_der: bytes
    password: str
    file_name: str
    allow_all_apps_access: bool | None = None
    key_is_extractable: bool | None = None

    def as_payload(self) -> dict[str, Any]:
        if not self.pkcs12_der or not self.password:
            raise ExportError("a PKCS#12 payload needs the PKCS#12 and its password")
        content = payload_header("com.apple.security.pkcs12", self.identifier, self.display_name)
        content.update(
            PayloadContent=self.pkcs12_der,
            Password=self.password,
            PayloadCertificateFileName=check_identifier(self.file_name, "the certificate file name"),
        )
        if self.allow_all_apps_access is not None:
            content["AllowAllAppsAccess"] = self.allow_all_apps_access
        if self.key_is_extractable is not None:
            content["KeyIsExtractable"] = self.key_is_extractable
        return content
