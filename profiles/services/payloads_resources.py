"""The PKCS and resource profiles of a check-in in each payload format (JSON, .mobileconfig, Windows CSP).

Used by :mod:`profiles.services.payloads`. A resource profile is written only when its identity is in the
same payload (the SCEP payload with its challenge, or the PKCS#12 handed over now); otherwise it is
listed as not delivered, with the reason.
"""

from __future__ import annotations

import base64
from typing import Any

from ca.crypto.names import general_name_to_text
from directory.models import Platform
from profiles.choices import ResourceKind, WifiSecurity
from profiles.exports import mobileconfig, mobileconfig_resources, windows_resources
from profiles.exports.common import sha1_fingerprint
from profiles.models import ScepProfile
from profiles.naming.variables import CertificateType
from profiles.options import KeyStorageProvider
from profiles.services.checkin_resources import DeviceCheckin, PkcsDelivery, ResourceDelivery

__all__ = ["extras_json", "extras_mobileconfig", "extras_windows_csp", "identity_identifier"]

#: PFXCertInstall ``KeyLocation`` per key storage provider (the SCEP CSP's KeyProtection numbering).
_KEY_LOCATION = {
    KeyStorageProvider.TPM_OTHERWISE_FAIL: 1,
    KeyStorageProvider.TPM_OTHERWISE_SOFTWARE: 2,
    KeyStorageProvider.SOFTWARE: 3,
}


def identity_identifier(base: str, profile: ScepProfile) -> str:
    """The ``PayloadIdentifier`` of a certificate profile's payload (SCEP or PKCS#12) in a .mobileconfig."""
    return f"{base}.{'pkcs' if profile.is_pkcs else 'scep'}.{profile.pk}"


def _pkcs_json(item: PkcsDelivery) -> dict[str, Any]:
    body: dict[str, Any] = {
        "profile": item.profile.name,
        "profile_version": item.profile.version,
        "state": item.state,
    }
    if item.problem:
        body["reason"] = item.problem
    if item.rendered is not None:
        body["subject"] = item.rendered.subject.rfc4514_string()
        body["subject_alternative_names"] = [general_name_to_text(name) for name in item.rendered.sans]
    if item.certificate is not None:
        body["certificate_serial"] = item.certificate.serial
        body["certificate_thumbprint_sha1"] = item.certificate.fingerprint_sha1
    if item.bundle is not None:
        body["pkcs12"] = base64.b64encode(item.bundle.pkcs12_der).decode("ascii")
        body["pkcs12_password"] = item.bundle.password
    return body


def _resource_json(item: ResourceDelivery) -> dict[str, Any]:
    profile = item.profile
    body: dict[str, Any] = {
        "profile": profile.name,
        "kind": profile.kind,
        "identity_profile": profile.identity_profile.name,
        "state": "failed" if item.problem else "delivered",
    }
    if item.problem:
        body["reason"] = item.problem
        return body
    if profile.kind == ResourceKind.WIFI:
        body.update(
            ssid=profile.ssid, security=profile.wifi_security, server_names=profile.server_certificate_names
        )
    elif profile.kind == ResourceKind.VPN:
        body.update(
            remote_address=profile.remote_address,
            remote_identifier=profile.remote_identifier,
            local_identifier=item.local_identifier,
        )
    else:
        body.update(host=profile.exchange_host, email_address=item.email_address, user_name=item.user_name)
    return body


def extras_json(checkin: DeviceCheckin) -> dict[str, Any]:
    return {
        "pkcs": [_pkcs_json(item) for item in checkin.pkcs],
        "resources": [_resource_json(item) for item in checkin.resources],
    }


def _identities_in_payload(checkin: DeviceCheckin) -> set[int]:
    """The certificate profiles whose identity the payload carries (SCEP with a challenge, PKCS#12 now)."""
    present = {d.profile.pk for d in checkin.base.scep if d.rendered is not None and d.challenge}
    present |= {item.profile.pk for item in checkin.pkcs if item.bundle is not None}
    return present


def _missing_identity(item: ResourceDelivery, present: set[int]) -> str:
    identity = item.profile.identity_profile
    if item.problem or identity.pk in present:
        return item.problem
    if identity.is_pkcs:
        return f"its PKCS certificate ({identity.name}) was handed over at an earlier check-in"
    return f"its SCEP profile {identity.name!r} is not in this payload"


def extras_mobileconfig(checkin: DeviceCheckin, base: str) -> list[mobileconfig.ExtraPayload]:
    """The PKCS#12 payloads handed over now, then the Wi-Fi, VPN and Exchange payloads."""
    device = checkin.device
    macos = device.platform == Platform.MACOS
    payloads: list[mobileconfig.ExtraPayload] = [
        mobileconfig_resources.Pkcs12Payload(
            identifier=identity_identifier(base, item.profile),
            display_name=item.profile.name,
            pkcs12_der=item.bundle.pkcs12_der,
            password=item.bundle.password,
            file_name=f"{item.profile.name}.p12",
            allow_all_apps_access=item.profile.allow_all_apps_access if macos else None,
        )
        for item in checkin.pkcs
        if item.bundle is not None
    ]
    present = _identities_in_payload(checkin)
    for item in checkin.resources:
        if _missing_identity(item, present):
            continue
        profile = item.profile
        identifier = f"{base}.resource.{profile.pk}"
        identity_uuid = mobileconfig.payload_uuid(identity_identifier(base, profile.identity_profile))
        if profile.kind == ResourceKind.WIFI:
            root = profile.server_root_profile
            payloads.append(
                mobileconfig_resources.WifiPayload(
                    identifier=identifier,
                    display_name=profile.name,
                    ssid=profile.ssid,
                    encryption_type="WPA3"
                    if profile.wifi_security == WifiSecurity.WPA3_ENTERPRISE
                    else "WPA2",
                    identity_uuid=identity_uuid,
                    anchor_uuids=(mobileconfig.payload_uuid(f"{base}.root.{root.pk}"),) if root else (),
                    server_names=tuple(profile.server_certificate_names),
                    hidden_network=profile.hidden_network,
                    auto_join=profile.auto_join,
                )
            )
        elif profile.kind == ResourceKind.VPN:
            root = profile.server_root_profile
            payloads.append(
                mobileconfig_resources.VpnIkev2Payload(
                    identifier=identifier,
                    display_name=profile.name,
                    remote_address=profile.remote_address,
                    remote_identifier=profile.remote_identifier,
                    local_identifier=item.local_identifier,
                    identity_uuid=identity_uuid,
                    certificate_type=_apple_certificate_type(profile.identity_profile),
                    server_issuer_common_name=_common_name(root.subject) if root else None,
                )
            )
        else:
            payloads.append(
                mobileconfig_resources.ExchangePayload(
                    identifier=identifier,
                    display_name=profile.name,
                    host=profile.exchange_host,
                    email_address=item.email_address,
                    user_name=item.user_name,
                    identity_uuid=identity_uuid,
                )
            )
    return payloads


def _apple_certificate_type(profile: ScepProfile) -> str:
    return {"ec_p256": "ECDSA256", "ec_p384": "ECDSA384"}.get(profile.key_algorithm, "RSA")


def _common_name(rfc4514: str) -> str | None:
    for part in rfc4514.split(","):
        key, _, value = part.partition("=")
        if key.strip().upper() == "CN":
            return value.strip() or None
    return None


def _eap_settings(item: ResourceDelivery) -> windows_resources.EapTlsSettings:
    profile = item.profile
    identity = profile.identity_profile
    issuers = tuple(
        sha1_fingerprint(ca.certificate).hex() for ca in identity.authority.chain()
    )  # the issuing CA and its issuers: the certificate chosen is one they issued
    root = profile.server_root_profile
    return windows_resources.EapTlsSettings(
        issuer_thumbprints=issuers,
        ekus=tuple((str(e.get("name") or e["oid"]), str(e["oid"])) for e in identity.extended_key_usages),
        server_root_thumbprints=(root.thumbprint_sha1,) if root else (),
        server_names=tuple(profile.server_certificate_names),
    )


def extras_windows_csp(checkin: DeviceCheckin, first_cmd_id: int) -> tuple[list[str], int]:
    """PFXCertInstall for the PKCS#12 handed over now, WiFi and VPNv2 nodes for the resource profiles
    (Windows has no Exchange ActiveSync CSP with certificate authentication: email profiles are not
    written). Returns the fragments and the next CmdID.
    """
    fragments: list[str] = []
    command_id = first_cmd_id
    for pkcs in checkin.pkcs:
        if pkcs.bundle is None:
            continue
        fragment = windows_resources.build_pfx_syncml(
            unique_id=f"certportal_pkcs_{pkcs.profile.pk}",
            pkcs12_der=pkcs.bundle.pkcs12_der,
            password=pkcs.bundle.password,
            user_certificate=pkcs.profile.certificate_type == CertificateType.USER,
            key_location=_KEY_LOCATION.get(
                KeyStorageProvider(pkcs.profile.key_storage_provider or KeyStorageProvider.SOFTWARE), 3
            ),
            first_cmd_id=command_id,
        )
        command_id += fragment.count("<CmdID>")
        fragments.append(fragment)
    present = _identities_in_payload(checkin)
    for item in checkin.resources:
        resource = item.profile
        if _missing_identity(item, present) or resource.kind == ResourceKind.EMAIL:
            continue
        user = resource.identity_profile.certificate_type == CertificateType.USER
        if resource.kind == ResourceKind.WIFI:
            xml = windows_resources.wlan_profile_xml(
                ssid=resource.ssid,
                security="WPA3" if resource.wifi_security == WifiSecurity.WPA3_ENTERPRISE else "WPA2",
                eap=_eap_settings(item),
                user_certificate=user,
                hidden_network=resource.hidden_network,
                auto_join=resource.auto_join,
            )
            fragment = windows_resources.build_wifi_syncml(
                ssid=resource.ssid, wlan_xml=xml, user_certificate=user, first_cmd_id=command_id
            )
        else:
            xml = windows_resources.vpn_profile_xml(
                servers=[resource.remote_address], eap=_eap_settings(item), user_certificate=user
            )
            fragment = windows_resources.build_vpnv2_syncml(
                name=resource.name, profile_xml=xml, user_certificate=user, first_cmd_id=command_id
            )
        command_id += 1
        fragments.append(fragment)
    return fragments, command_id
