"""The resource payload writers refuse what their format cannot carry (pure, no database)."""

from __future__ import annotations

import plistlib
import xml.etree.ElementTree as ET

import pytest

from profiles.exports.common import ExportError
from profiles.exports.mobileconfig import ExtraPayload, ProfileInfo, build_mobileconfig
from profiles.exports.mobileconfig_resources import (
    ExchangePayload,
    Pkcs12Payload,
    VpnIkev2Payload,
    WifiPayload,
)
from profiles.exports.windows_resources import (
    EapTlsSettings,
    build_pfx_syncml,
    build_wifi_syncml,
    wlan_profile_xml,
)

THUMBPRINT = "AB" * 20
EAP = EapTlsSettings(
    issuer_thumbprints=(THUMBPRINT,),
    ekus=(("Client Authentication", "1.3.6.1.5.5.7.3.2"),),
    server_root_thumbprints=(THUMBPRINT,),
    server_names=("radius.example",),
)


def wifi(**changes: object) -> WifiPayload:
    values: dict[str, object] = {
        "identifier": "org.example.wifi",
        "display_name": "Wi-Fi",
        "ssid": "CORP",
        "encryption_type": "WPA2",
        "identity_uuid": "UUID-1",
        "anchor_uuids": ("UUID-2",),
        "server_names": ("radius.example",),
    }
    values.update(changes)
    return WifiPayload(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "changes",
    [
        {"ssid": ""},
        {"ssid": "x" * 33},
        {"encryption_type": "WEP"},
        {"server_names": ()},
        {"anchor_uuids": ()},
        {"identity_uuid": " "},
    ],
)
def test_wifi_refuses_what_eap_tls_cannot_use(changes):
    with pytest.raises(ExportError):
        wifi(**changes).as_payload()


def test_the_payloads_go_into_one_property_list_with_unique_uuids():
    payloads: list[ExtraPayload] = [
        wifi(),
        VpnIkev2Payload(
            identifier="org.example.vpn",
            display_name="VPN",
            remote_address="vpn.example",
            remote_identifier="vpn.example",
            local_identifier="user@example",
            identity_uuid="UUID-1",
            certificate_type="ECDSA256",
        ),
        ExchangePayload(
            identifier="org.example.eas",
            display_name="Mail",
            host="mail.example",
            email_address="user@example",
            user_name="user@example",
            identity_uuid="UUID-1",
        ),
        Pkcs12Payload(
            identifier="org.example.p12",
            display_name="Identity",
            pkcs12_der=b"\x30\x00",
            password="secret",
            file_name="id.p12",
        ),
    ]
    document = plistlib.loads(
        build_mobileconfig(ProfileInfo(identifier="org.example", display_name="x"), payloads)
    )
    types = [payload["PayloadType"] for payload in document["PayloadContent"]]
    assert types == [
        "com.apple.wifi.managed",
        "com.apple.vpn.managed",
        "com.apple.eas.account",
        "com.apple.security.pkcs12",
    ]
    uuids = [payload["PayloadUUID"] for payload in document["PayloadContent"]]
    assert len(set(uuids)) == 4


def test_a_control_character_in_an_ssid_is_refused_not_written():
    with pytest.raises(ExportError):
        build_mobileconfig(ProfileInfo(identifier="org.example", display_name="x"), [wifi(ssid="CO\x01RP")])


def test_wlan_profile_refuses_unknown_security_and_bad_thumbprints():
    with pytest.raises(ExportError):
        wlan_profile_xml(ssid="CORP", security="WEP", eap=EAP, user_certificate=True)
    with pytest.raises(ExportError):
        wlan_profile_xml(
            ssid="CORP",
            security="WPA2",
            eap=EapTlsSettings(issuer_thumbprints=("nothex",), ekus=EAP.ekus, server_root_thumbprints=()),
            user_certificate=True,
        )


def test_wlan_profile_escapes_the_ssid_and_the_node_name_refuses_a_slash():
    xml = wlan_profile_xml(ssid="A&B <C>", security="WPA3", eap=EAP, user_certificate=False)
    root = ET.fromstring(xml)  # noqa: S314 - our own output
    namespace = "{http://www.microsoft.com/networking/WLAN/profile/v1}"
    assert root.findtext(f"{namespace}name") == "A&B <C>"
    assert (
        root.findtext(
            f"{namespace}MSM/{namespace}security/{namespace}authEncryption/{namespace}authentication"
        )
        == "WPA3ENT"
    )
    with pytest.raises(ExportError):
        build_wifi_syncml(ssid="A/B", wlan_xml=xml, user_certificate=False)


def test_pfx_install_needs_a_password_and_a_known_key_location():
    with pytest.raises(ExportError):
        build_pfx_syncml(unique_id="x", pkcs12_der=b"\x30\x00", password="", user_certificate=True)
    with pytest.raises(ExportError):
        build_pfx_syncml(
            unique_id="x", pkcs12_der=b"\x30\x00", password="p", user_certificate=True, key_location=9
        )
