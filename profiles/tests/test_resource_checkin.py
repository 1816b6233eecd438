"""Resource profiles (Wi-Fi, VPN, email) and PKCS certificate profiles at check-in (issue 15).

Done when: a device with a Wi-Fi profile assigned checks in and gets a .mobileconfig whose Wi-Fi payload
references its SCEP payload by UUID and passes the structural checks; a PKCS profile delivers a PKCS#12
that ``openssl pkcs12`` opens with the delivered password, whose certificate verifies against the chain
and whose key matches.
"""

from __future__ import annotations

import base64
import plistlib
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from django.core.cache import cache
from rest_framework.test import APIClient

from ca.choices import PkcsRequestStatus, RevocationCause
from ca.crypto.pkcs12 import pkcs12_open
from ca.models import PkcsRequest, RevocationRequest
from ca.tests.pki import openssl, openssl_verify, require_executable
from directory.models import Device
from directory.services.checkin_tokens import device_checkin_token_rotate
from directory.tests.factories import DeviceFactory
from eventlog.choices import EventId
from eventlog.models import ConnectorEvent
from profiles.choices import CertificateState, DeviceCertificateStatus, ResourceKind, WifiSecurity
from profiles.models import DeviceCertificate, DeviceCertificateState, ResourceProfile, ScepProfile
from profiles.services.devices import device_retire
from profiles.services.profiles import scep_profile_create, trusted_root_profile_create
from profiles.services.resources import pkcs_profile_create, resource_profile_create
from profiles.tests.fixtures import assign, profile_fields

URL = "/api/v1/checkin/"

#: Keys Apple documents for each payload type (apple/device-management, mdm/profiles/*.yaml; the subset
#: certportal may write, plus the common payload keys).
COMMON_KEYS = {"PayloadType", "PayloadVersion", "PayloadIdentifier", "PayloadUUID", "PayloadDisplayName"}
APPLE_KEYS: dict[str, set[str]] = {
    "com.apple.wifi.managed": COMMON_KEYS
    | {
        "SSID_STR",
        "HIDDEN_NETWORK",
        "AutoJoin",
        "EncryptionType",
        "PayloadCertificateUUID",
        "EAPClientConfiguration",
    },
    "com.apple.vpn.managed": COMMON_KEYS | {"UserDefinedName", "VPNType", "IKEv2"},
    "com.apple.eas.account": COMMON_KEYS
    | {"Host", "SSL", "EmailAddress", "UserName", "PayloadCertificateUUID"},
    "com.apple.security.pkcs12": COMMON_KEYS
    | {"PayloadContent", "Password", "PayloadCertificateFileName", "AllowAllAppsAccess", "KeyIsExtractable"},
}
EAP_KEYS = {"AcceptEAPTypes", "TLSTrustedServerNames", "PayloadCertificateAnchorUUID"}
IKEV2_KEYS = {
    "RemoteAddress",
    "RemoteIdentifier",
    "LocalIdentifier",
    "AuthenticationMethod",
    "CertificateType",
    "PayloadCertificateUUID",
    "ExtendedAuthEnabled",
    "ServerCertificateIssuerCommonName",
}
IKEV2_REQUIRED = {"RemoteAddress", "LocalIdentifier", "RemoteIdentifier", "AuthenticationMethod"}


@pytest.fixture(autouse=True)
def _fresh_checkin_throttle() -> None:
    """Device ids repeat from test to test (rolled back): the check-in throttle (30/h per device, locmem)
    would count another test's check-ins.
    """
    cache.clear()


def device_client(device: Device) -> APIClient:
    client = APIClient()
    client.credentials(
        HTTP_AUTHORIZATION=f"Device {device.external_id}:{device_checkin_token_rotate(device=device)}"
    )
    return client


def wifi_profile(identity: ScepProfile, **overrides: Any) -> ResourceProfile:
    fields: dict[str, Any] = {
        "name": "Corp Wi-Fi",
        "kind": ResourceKind.WIFI,
        "platform": identity.platform,
        "identity_profile": identity,
        "server_root_profile": identity.root_profile,
        "ssid": "CORP-SECURE",
        "wifi_security": WifiSecurity.WPA2_ENTERPRISE,
        "server_certificate_names": ["radius.corp.example.com"],
    }
    fields.update(overrides)
    return resource_profile_create(**fields)


def by_type(document: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    payloads: dict[str, list[dict[str, Any]]] = {}
    for payload in document["PayloadContent"]:
        payloads.setdefault(payload["PayloadType"], []).append(payload)
    return payloads


def check_structure(payload: dict[str, Any]) -> None:
    """Only documented keys, with the documented value types."""
    payload_type = payload["PayloadType"]
    assert set(payload) <= APPLE_KEYS[payload_type], set(payload) - APPLE_KEYS[payload_type]
    assert payload["PayloadVersion"] == 1
    assert isinstance(payload["PayloadUUID"], str)
    if payload_type == "com.apple.wifi.managed":
        assert isinstance(payload["SSID_STR"], str)
        assert payload["EncryptionType"] in {"WEP", "WPA", "WPA2", "WPA3", "Any", "None"}
        eap = payload["EAPClientConfiguration"]
        assert set(eap) <= EAP_KEYS
        assert eap["AcceptEAPTypes"] == [13]  # EAP-TLS
        assert all(isinstance(name, str) for name in eap["TLSTrustedServerNames"])
    if payload_type == "com.apple.vpn.managed":
        assert payload["VPNType"] == "IKEv2"
        ikev2 = payload["IKEv2"]
        assert IKEV2_REQUIRED <= set(ikev2) <= IKEV2_KEYS
        assert ikev2["AuthenticationMethod"] in {"None", "SharedSecret", "Certificate"}
        assert ikev2["CertificateType"] in {"RSA", "ECDSA256", "ECDSA384", "ECDSA521", "RSA-PSS"}


def test_a_wifi_profile_references_the_scep_payload_by_uuid(assigned, device, user_group, root_profile):
    wifi = wifi_profile(assigned)
    assign(wifi, user_group)

    response = device_client(device).get(f"{URL}mobileconfig/")

    assert response.status_code == 200, response.content
    payloads = by_type(plistlib.loads(response.content))
    (scep,) = payloads["com.apple.security.scep"]
    (root,) = payloads["com.apple.security.root"]
    (wifi_payload,) = payloads["com.apple.wifi.managed"]
    check_structure(wifi_payload)
    assert wifi_payload["PayloadCertificateUUID"] == scep["PayloadUUID"]
    assert wifi_payload["EAPClientConfiguration"]["PayloadCertificateAnchorUUID"] == [root["PayloadUUID"]]
    assert wifi_payload["EAPClientConfiguration"]["TLSTrustedServerNames"] == ["radius.corp.example.com"]
    assert (wifi_payload["SSID_STR"], wifi_payload["EncryptionType"]) == ("CORP-SECURE", "WPA2")
    uuids = [payload["PayloadUUID"] for payload in plistlib.loads(response.content)["PayloadContent"]]
    assert len(uuids) == len(set(uuids))


def test_vpn_and_email_profiles_reference_the_identity(assigned, device, user_group):
    vpn = resource_profile_create(
        name="Corp VPN",
        kind=ResourceKind.VPN,
        platform=assigned.platform,
        identity_profile=assigned,
        server_root_profile=assigned.root_profile,
        remote_address="vpn.corp.example.com",
        remote_identifier="vpn.corp.example.com",
        local_identifier="{{UserPrincipalName}}",
    )
    mail = resource_profile_create(
        name="Corp mail",
        kind=ResourceKind.EMAIL,
        platform=assigned.platform,
        identity_profile=assigned,
        exchange_host="mail.corp.example.com",
        email_address_attribute="email",
    )
    assign(vpn, user_group)
    assign(mail, user_group)

    payloads = by_type(plistlib.loads(device_client(device).get(f"{URL}mobileconfig/").content))

    scep_uuid = payloads["com.apple.security.scep"][0]["PayloadUUID"]
    (vpn_payload,) = payloads["com.apple.vpn.managed"]
    (mail_payload,) = payloads["com.apple.eas.account"]
    check_structure(vpn_payload)
    check_structure(mail_payload)
    assert vpn_payload["IKEv2"]["PayloadCertificateUUID"] == scep_uuid
    assert vpn_payload["IKEv2"]["LocalIdentifier"] == "jdoe@corp.example.com"
    assert vpn_payload["IKEv2"]["ServerCertificateIssuerCommonName"] == "Test Root CA"
    assert mail_payload["PayloadCertificateUUID"] == scep_uuid
    assert (mail_payload["EmailAddress"], mail_payload["SSL"]) == ("jdoe@corp.example.com", True)


def test_a_resource_profile_whose_scep_profile_is_not_assigned_fails_with_the_reason(
    scep_profile, root_profile, device, user_group
):
    assign(root_profile, user_group)
    assign(wifi_profile(scep_profile), user_group)

    client = device_client(device)
    body = client.get(URL).json()
    payloads = by_type(plistlib.loads(client.get(f"{URL}mobileconfig/").content))

    (resource,) = body["resources"]
    assert resource["state"] == "failed"
    assert (
        "SCEP certificate profile 'iOS user certificate' is not assigned to this device" in resource["reason"]
    )
    assert "com.apple.wifi.managed" not in payloads


def test_a_resource_profile_without_its_server_root_assigned_fails(make_profile, device, user_group, pki):
    identity = make_profile(name="SCEP for Wi-Fi")
    assign(identity, user_group)
    assign(identity.root_profile, user_group)
    other_root = trusted_root_profile_create(authority=pki.issuing, name="RADIUS root", platform="ios")
    assign(wifi_profile(identity, server_root_profile=other_root), user_group)

    (resource,) = device_client(device).get(URL).json()["resources"]

    assert resource["state"] == "failed"
    assert "'RADIUS root', is not assigned" in resource["reason"]


def test_windows_wifi_and_vpn_csp_select_the_certificate_by_issuer_and_eku(pki, db, user, user_group):
    windows = DeviceFactory.create(name="PC-1", platform="windows_10", primary_user=user)
    root = trusted_root_profile_create(authority=pki.root, name="Root (Windows)", platform="windows_10")
    identity = scep_profile_create(
        **profile_fields(pki, root, name="Windows user certificate", platform="windows_10")
    )
    for profile in (
        identity,
        root,
        wifi_profile(identity, ssid="CORP-WIN", wifi_security=WifiSecurity.WPA3_ENTERPRISE),
    ):
        assign(profile, user_group)
    assign(
        resource_profile_create(
            name="Win VPN",
            kind=ResourceKind.VPN,
            platform="windows_10",
            identity_profile=identity,
            remote_address="vpn.corp.example.com",
            remote_identifier="vpn.corp.example.com",
        ),
        user_group,
    )

    response = device_client(windows).get(f"{URL}windows-csp/")

    assert response.status_code == 200, response.content
    syncml = ET.fromstring(response.content)  # noqa: S314 - our own output
    data = {
        item.findtext("{SYNCML:SYNCML1.2}Target/{SYNCML:SYNCML1.2}LocURI"): item.findtext(
            "{SYNCML:SYNCML1.2}Data"
        )
        for item in syncml.iter("{SYNCML:SYNCML1.2}Item")
    }
    wlan_xml = data["./User/Vendor/MSFT/WiFi/Profile/CORP-WIN/WlanXml"] or ""
    check_wlan_profile(wlan_xml, ssid="CORP-WIN", authentication="WPA3ENT", pki=pki)
    vpn_xml = ET.fromstring(data["./User/Vendor/MSFT/VPNv2/Win%20VPN/ProfileXML"] or "")  # noqa: S314
    assert vpn_xml.tag == "VPNProfile"
    assert vpn_xml.findtext("NativeProfile/NativeProtocolType") == "IKEv2"
    assert vpn_xml.findtext("NativeProfile/Authentication/UserMethod") == "Eap"


WLAN = "{http://www.microsoft.com/networking/WLAN/profile/v1}"
ONEX = "{http://www.microsoft.com/networking/OneX/v1}"
EAP_HOST = "{http://www.microsoft.com/provisioning/EapHostConfig}"
EAP_COMMON = "{http://www.microsoft.com/provisioning/EapCommon}"
BASE_EAP = "{http://www.microsoft.com/provisioning/BaseEapConnectionPropertiesV1}"
TLS1 = "{http://www.microsoft.com/provisioning/EapTlsConnectionPropertiesV1}"
TLS2 = "{http://www.microsoft.com/provisioning/EapTlsConnectionPropertiesV2}"
TLS3 = "{http://www.microsoft.com/provisioning/EapTlsConnectionPropertiesV3}"


def check_wlan_profile(text: str, *, ssid: str, authentication: str, pki) -> None:
    """The WLAN_profile schema's structure (element order, enumerations, lengths) and EAP-TLS selection."""
    profile = ET.fromstring(text)  # noqa: S314 - our own output
    assert profile.tag == f"{WLAN}WLANProfile"
    assert [child.tag for child in profile] == [
        f"{WLAN}name",
        f"{WLAN}SSIDConfig",
        f"{WLAN}connectionType",
        f"{WLAN}connectionMode",
        f"{WLAN}MSM",
    ]
    ssid_element = profile.find(f"{WLAN}SSIDConfig/{WLAN}SSID")
    assert ssid_element is not None
    assert bytes.fromhex(ssid_element.findtext(f"{WLAN}hex") or "") == ssid.encode()
    assert 1 <= len(ssid_element.findtext(f"{WLAN}name") or "") <= 32
    assert profile.findtext(f"{WLAN}connectionType") in {"ESS", "IBSS"}
    assert profile.findtext(f"{WLAN}connectionMode") in {"auto", "manual"}
    auth = profile.find(f"{WLAN}MSM/{WLAN}security/{WLAN}authEncryption")
    assert auth is not None
    assert [child.tag for child in auth] == [f"{WLAN}authentication", f"{WLAN}encryption", f"{WLAN}useOneX"]
    assert auth.findtext(f"{WLAN}authentication") == authentication
    assert auth.findtext(f"{WLAN}encryption") in {"none", "WEP", "TKIP", "AES", "GCMP256"}
    assert auth.findtext(f"{WLAN}useOneX") == "true"
    onex = profile.find(f"{WLAN}MSM/{WLAN}security/{ONEX}OneX")
    assert onex is not None
    assert onex.findtext(f"{ONEX}authMode") in {"user", "machine", "machineOrUser", "guest"}
    host = onex.find(f"{ONEX}EAPConfig/{EAP_HOST}EapHostConfig")
    assert host is not None
    assert host.findtext(f"{EAP_HOST}EapMethod/{EAP_COMMON}Type") == "13"
    eap_type = host.find(f"{EAP_HOST}Config/{BASE_EAP}Eap/{TLS1}EapType")
    assert eap_type is not None
    issuer_hashes = {
        element.text.replace(" ", "").upper()
        for element in eap_type.iter(f"{TLS3}IssuerHash")
        if element.text
    }
    assert pki.issuing.fingerprint_sha1 in issuer_hashes
    assert [e.text for e in eap_type.iter(f"{TLS3}EKUOID")] == ["1.3.6.1.5.5.7.3.2"]
    wanted = eap_type.find(f"{TLS2}TLSExtensions/{TLS3}FilteringInfo/{TLS3}ClientAuthEKUList")
    assert wanted is not None
    assert wanted.get("Enabled") == "true"
    trusted = eap_type.findtext(f"{TLS1}ServerValidation/{TLS1}TrustedRootCA") or ""
    assert trusted.replace(" ", "").upper() == pki.root.fingerprint_sha1


# --- PKCS ----------------------------------------------------------------------------------------------


@pytest.fixture
def pkcs_assigned(pki, root_profile, user_group) -> ScepProfile:
    fields = profile_fields(pki, root_profile, name="iOS PKCS certificate")
    fields.pop("scep_server_urls")
    profile = pkcs_profile_create(**fields)
    assign(profile, user_group)
    assign(root_profile, user_group)
    return profile


def _openssl_pkcs12(path: Path, password: str, *options: str) -> str:
    result = subprocess.run(
        [
            require_executable("openssl"),
            "pkcs12",
            "-in",
            str(path),
            "-passin",
            "env:P12_PASSWORD",
            "-nodes",
            *options,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"P12_PASSWORD": password, "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_a_pkcs_profile_delivers_a_pkcs12_that_openssl_opens_and_verifies(
    pkcs_assigned, device, pki, tmp_path, django_capture_on_commit_callbacks
):
    client = device_client(device)
    with django_capture_on_commit_callbacks(execute=True):
        first = client.get(URL).json()
    assert [item["state"] for item in first["pkcs"]] == ["issue_pending"]
    assert first["scep"] == []  # a PKCS profile hands out no SCEP challenge
    assert PkcsRequest.objects.get().status == PkcsRequestStatus.ISSUED

    response = client.get(f"{URL}mobileconfig/")

    payloads = by_type(plistlib.loads(response.content))
    (pkcs12,) = payloads["com.apple.security.pkcs12"]
    check_structure(pkcs12)
    p12 = tmp_path / "device.p12"
    p12.write_bytes(pkcs12["PayloadContent"])
    leaf_pem = _openssl_pkcs12(p12, pkcs12["Password"], "-clcerts", "-nokeys")
    chain_pem = _openssl_pkcs12(p12, pkcs12["Password"], "-cacerts", "-nokeys")
    key_pem = _openssl_pkcs12(p12, pkcs12["Password"], "-nocerts")
    leaf = x509.load_pem_x509_certificate(leaf_pem.encode())
    openssl_verify(tmp_path, leaf, *x509.load_pem_x509_certificates(chain_pem.encode()))
    openssl_verify(tmp_path, leaf, pki.issuing.certificate, pki.root.certificate)
    (tmp_path / "leaf.pem").write_text(leaf_pem)
    (tmp_path / "key.pem").write_text(key_pem)
    assert (
        openssl("x509", "-in", str(tmp_path / "leaf.pem"), "-noout", "-pubkey").stdout
        == openssl("pkey", "-in", str(tmp_path / "key.pem"), "-pubout").stdout
    )
    assert leaf.subject.rfc4514_string() == "O=certportal tests,CN=jdoe"

    binding = DeviceCertificate.objects.get(device=device, profile=pkcs_assigned)
    assert binding.certificate.fingerprint_sha256 == leaf.fingerprint(hashes.SHA256()).hex().upper()
    state = DeviceCertificateState.objects.get(device=device, profile=pkcs_assigned)
    assert (state.state, state.certificate_id) == (CertificateState.ISSUED, binding.certificate_id)
    request = PkcsRequest.objects.get()
    assert (request.status, request.pkcs12_der) == (PkcsRequestStatus.DELIVERED, None)
    (issued_event,) = ConnectorEvent.objects.filter(event_id=EventId.PKCS_CERT_ISSUE_SUCCESS)
    assert (issued_event.device_id, issued_event.user_principal_name) == (device.pk, "jdoe@corp.example.com")

    third = client.get(URL).json()  # delivered once: the key is kept nowhere now
    assert [(item["state"], "pkcs12" in item) for item in third["pkcs"]] == [("issued", False)]
    assert PkcsRequest.objects.count() == 1


def test_retiring_the_device_revokes_its_pkcs_certificate(
    pkcs_assigned, device, django_capture_on_commit_callbacks
):
    client = device_client(device)
    with django_capture_on_commit_callbacks(execute=True):
        client.get(URL)
    client.get(URL)
    binding = DeviceCertificate.objects.get(device=device, profile=pkcs_assigned)

    departure = device_retire(device=device)

    assert departure.revocation_request is not None
    request = RevocationRequest.objects.get(pk=departure.revocation_request.pk)
    assert request.cause == RevocationCause.DEVICE_RETIRED
    assert list(request.items.values_list("certificate_id", flat=True)) == [binding.certificate_id]
    binding.refresh_from_db()
    assert binding.status in {DeviceCertificateStatus.ISSUED, DeviceCertificateStatus.REVOKED}


def test_a_wifi_profile_with_a_pkcs_identity_references_the_pkcs12_payload(
    pkcs_assigned, device, user_group, django_capture_on_commit_callbacks
):
    assign(wifi_profile(pkcs_assigned), user_group)
    client = device_client(device)
    with django_capture_on_commit_callbacks(execute=True):
        client.get(URL)  # the CA issues the PKCS certificate

    payloads = by_type(plistlib.loads(client.get(f"{URL}mobileconfig/").content))

    (pkcs12,) = payloads["com.apple.security.pkcs12"]
    (wifi_payload,) = payloads["com.apple.wifi.managed"]
    assert wifi_payload["PayloadCertificateUUID"] == pkcs12["PayloadUUID"]


def test_windows_gets_the_pkcs12_as_a_pfx_install(
    pki, db, user, user_group, django_capture_on_commit_callbacks
):
    windows = DeviceFactory.create(name="PC-2", platform="windows_10", primary_user=user)
    root = trusted_root_profile_create(authority=pki.root, name="Root (Windows)", platform="windows_10")
    fields = profile_fields(pki, root, name="Windows PKCS", platform="windows_10", key_algorithm="ec_p256")
    fields.pop("scep_server_urls")
    profile = pkcs_profile_create(**fields)
    assign(profile, user_group)
    assign(root, user_group)
    client = device_client(windows)
    with django_capture_on_commit_callbacks(execute=True):
        client.get(f"{URL}windows-csp/")

    syncml = ET.fromstring(client.get(f"{URL}windows-csp/").content)  # noqa: S314 - our own output

    base = f"./User/Vendor/MSFT/ClientCertificateInstall/PFXCertInstall/certportal_pkcs_{profile.pk}"
    data = {
        item.findtext("{SYNCML:SYNCML1.2}Target/{SYNCML:SYNCML1.2}LocURI"): item.findtext(
            "{SYNCML:SYNCML1.2}Data"
        )
        for item in syncml.iter("{SYNCML:SYNCML1.2}Item")
    }
    assert data[f"{base}/PFXCertPasswordEncryptionType"] == "0"
    bundle = pkcs12_open(
        base64.b64decode(data[f"{base}/PFXCertBlob"] or ""), data[f"{base}/PFXCertPassword"] or ""
    )
    assert bundle.key is not None
    assert bundle.cert is not None
    assert bundle.cert.certificate.public_key() == bundle.key.public_key()
    assert isinstance(bundle.key, ec.EllipticCurvePrivateKey)
    assert list(data)[-1] == f"{base}/PFXCertBlob"  # the blob last: it installs the certificate


def test_a_pkcs_certificate_due_for_renewal_gets_a_new_key_and_the_old_one_is_superseded(
    pkcs_assigned, device, django_capture_on_commit_callbacks
):
    client = device_client(device)
    with django_capture_on_commit_callbacks(execute=True):
        client.get(URL)
    client.get(URL)
    first = DeviceCertificate.objects.get(device=device, profile=pkcs_assigned)
    DeviceCertificateState.objects.filter(device=device, profile=pkcs_assigned).update(
        state=CertificateState.RENEWAL_DUE
    )

    with django_capture_on_commit_callbacks(execute=True):
        client.get(URL)  # a new request: a new key
    renewed = client.get(URL).json()

    assert [(item["state"], "pkcs12" in item) for item in renewed["pkcs"]] == [("delivered", True)]
    first.refresh_from_db()
    assert first.status == DeviceCertificateStatus.SUPERSEDED
    second = DeviceCertificate.objects.exclude(pk=first.pk).get(device=device, profile=pkcs_assigned)
    assert second.certificate.public_key_sha256 != first.certificate.public_key_sha256
    (revocation,) = RevocationRequest.objects.all()
    assert revocation.cause == RevocationCause.SUPERSEDED
    assert list(revocation.items.values_list("certificate_id", flat=True)) == [first.certificate_id]
