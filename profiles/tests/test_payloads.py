"""What a device receives from a check-in: JSON, an Apple .mobileconfig, Windows CSP SyncML."""

from __future__ import annotations

import base64
import plistlib
import xml.etree.ElementTree as ET

import pytest

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding

from directory.models import Platform
from directory.tests.factories import DeviceFactory
from profiles.services.checkin import device_checkin
from profiles.services.payloads import checkin_as_json, checkin_as_mobileconfig, checkin_as_windows_csp
from profiles.services.profiles import trusted_root_profile_create
from profiles.tests.fixtures import SCEP_URL, assign

SYNCML = "{SYNCML:SYNCML1.2}"


def test_json_lists_roots_and_the_rendered_request_with_its_challenge(assigned, root_profile, device, pki):
    result = device_checkin(device=device)
    (delivery,) = result.scep
    assert delivery.challenge_expires_at is not None

    body = checkin_as_json(result)

    assert body["device"] == {"id": device.external_id, "name": "iPhone-1", "platform": "ios"}
    assert body["trusted_roots"] == [
        {
            "profile": "Test Root CA (iOS)",
            "thumbprint_sha1": pki.root.fingerprint_sha1,
            "subject": "CN=Test Root CA,O=certportal tests",
            "destination_store": None,
            "certificate_pem": pki.root.certificate.public_bytes(Encoding.PEM).decode("ascii"),
        }
    ]
    assert body["scep"] == [
        {
            "profile": "iOS user certificate",
            "profile_version": 1,
            "state": "challenge_issued",
            "certificate_type": "user",
            "subject": "O=certportal tests,CN=jdoe",
            "subject_x500": "CN=jdoe, O=certportal tests",
            "subject_alternative_names": ["UPN:jdoe@corp.example.com"],
            "key_size": 2048,
            "key_usage": {"digital_signature": True, "key_encipherment": True},
            "key_storage_provider": None,
            "hash_algorithms": [],
            "extended_key_usages": [{"name": "Client Authentication", "oid": "1.3.6.1.5.5.7.3.2"}],
            "validity_days": None,
            "renewal_threshold_percentage": 20,
            "scep_server_urls": [SCEP_URL],
            "root_thumbprint_sha1": pki.root.fingerprint_sha1,
            "challenge": delivery.challenge,
            "challenge_expires_at": delivery.challenge_expires_at.isoformat(),
        }
    ]


def test_json_gives_the_reason_of_a_failed_profile(make_profile, root_profile, user_group, device):
    profile = make_profile(name="By IMEI", subject_name_format_string="CN={{IMEI}}")
    assign(profile, user_group)
    assign(root_profile, user_group)
    device.imei = ""
    device.save()

    body = checkin_as_json(device_checkin(device=device))

    assert body["scep"] == [
        {
            "profile": "By IMEI",
            "profile_version": 1,
            "state": "failed",
            "reason": "device has no IMEI, required by {{IMEI}} in the subject",
        }
    ]


def test_mobileconfig_has_the_root_payload_then_the_scep_payload(assigned, root_profile, device, pki):
    result = device_checkin(device=device)
    (delivery,) = result.scep

    document = plistlib.loads(checkin_as_mobileconfig(result))

    assert document["PayloadType"] == "Configuration"
    assert document["PayloadIdentifier"] == f"org.certportal.device.{device.external_id}"
    root, scep_payload = document["PayloadContent"]
    assert root["PayloadType"] == "com.apple.security.root"
    assert root["PayloadContent"] == pki.root.certificate_der
    assert root["PayloadCertificateFileName"] == "Test Root CA (iOS).cer"
    assert scep_payload["PayloadType"] == "com.apple.security.scep"
    assert scep_payload["PayloadContent"] == {
        "URL": SCEP_URL,
        "Subject": [[["CN", "jdoe"]], [["O", "certportal tests"]]],
        "SubjectAltName": {"ntPrincipalName": "jdoe@corp.example.com"},
        "Challenge": delivery.challenge,
        "Keysize": 2048,
        "Key Type": "RSA",
        "Key Usage": 5,
        "Retries": 3,
        "RetryDelay": 10,
        "CAFingerprint": pki.root.certificate.fingerprint(hashes.SHA1()),  # noqa: S303 - the root's thumbprint
    }


def test_mobileconfig_leaves_out_a_profile_that_failed(make_profile, root_profile, user_group, device):
    profile = make_profile(subject_name_format_string="CN={{IMEI}}")
    assign(profile, user_group)
    assign(root_profile, user_group)
    device.imei = ""
    device.save()

    document = plistlib.loads(checkin_as_mobileconfig(device_checkin(device=device)))

    assert [payload["PayloadType"] for payload in document["PayloadContent"]] == ["com.apple.security.root"]


@pytest.fixture
def windows(pki, make_profile, user_group, user):
    root = trusted_root_profile_create(
        authority=pki.root, name="Test Root CA (Windows)", platform=Platform.WINDOWS_10
    )
    profile = make_profile(
        name="Windows user certificate",
        platform=Platform.WINDOWS_10,
        root_profile=root,
        hash_algorithms=["sha2"],
        key_storage_provider="useSoftwareKsp",
    )
    assign(profile, user_group)
    assign(root, user_group)
    device = DeviceFactory.create(name="PC-1", platform=Platform.WINDOWS_10, primary_user=user)
    return device, profile, root


def text_of(element: ET.Element | None) -> str:
    """The text of an element that must be there and have text."""
    assert element is not None
    assert element.text is not None, element.tag
    return element.text


def syncml_items(document: ET.Element) -> list[tuple[str, str, str | None]]:
    """(verb, LocURI, Data) of every command, in order."""
    items: list[tuple[str, str, str | None]] = []
    for command in document.iter():
        tag = command.tag.removeprefix(SYNCML)
        if tag not in {"Add", "Exec", "Replace"}:
            continue
        uri = text_of(command.find(f"{SYNCML}Item/{SYNCML}Target/{SYNCML}LocURI"))
        data = command.find(f"{SYNCML}Item/{SYNCML}Data")
        items.append((tag, uri, data.text if data is not None else None))
    return items


def test_windows_csp_has_the_root_and_the_scep_install_nodes(windows, pki):
    device, profile, _ = windows
    result = device_checkin(device=device)
    (delivery,) = result.scep

    document = ET.fromstring(checkin_as_windows_csp(result))  # noqa: S314 - our own output

    thumbprint = pki.root.fingerprint_sha1
    base = f"./User/Vendor/MSFT/ClientCertificateInstall/SCEP/certportal_{profile.pk}"
    assert syncml_items(document) == [
        (
            "Add",
            f"./Device/Vendor/MSFT/RootCATrustedCertificates/Root/{thumbprint}/EncodedCertificate",
            base64.b64encode(pki.root.certificate_der).decode("ascii"),
        ),
        ("Add", base, None),
        ("Add", f"{base}/Install/ServerURL", SCEP_URL),
        ("Add", f"{base}/Install/Challenge", delivery.challenge),
        ("Add", f"{base}/Install/EKUMapping", "1.3.6.1.5.5.7.3.2"),
        ("Add", f"{base}/Install/KeyUsage", "160"),
        ("Add", f"{base}/Install/SubjectName", "CN=jdoe, O=certportal tests"),
        ("Add", f"{base}/Install/KeyProtection", "3"),
        ("Add", f"{base}/Install/KeyLength", "2048"),
        ("Add", f"{base}/Install/HashAlgorithm", "SHA-2"),
        ("Add", f"{base}/Install/CAThumbprint", thumbprint),
        ("Add", f"{base}/Install/SubjectAlternativeNames", "11+jdoe@corp.example.com"),
        ("Exec", f"{base}/Install/Enroll", None),
    ]
    command_ids = [int(text_of(element)) for element in document.iter(f"{SYNCML}CmdID")]
    assert command_ids == list(range(1, len(command_ids) + 1))
    assert document.find(f"{SYNCML}SyncBody/{SYNCML}Final") is not None
