"""profiles.exports.mobileconfig: parse the plist back and check every field."""

from __future__ import annotations

import ipaddress
import plistlib
import uuid
from typing import Any

import pytest

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.name import _ASN1Type
from cryptography.x509.oid import NameOID

from ca.crypto.identities import upn_general_name
from profiles.exports.mobileconfig import (
    PAYLOAD_UUID_NAMESPACE,
    ExportError,
    ProfileInfo,
    RootCertificatePayload,
    ScepPayload,
    apple_subject,
    apple_subject_alt_names,
    build_mobileconfig,
    payload_uuid,
)
from profiles.naming.request import render_request
from profiles.naming.sans import SanType, parse_san_entries
from profiles.naming.subject import parse_subject_format
from profiles.naming.variables import CertificateType, RenderContext
from profiles.tests.certificates import self_signed_ca

PROFILE = ProfileInfo(identifier="com.example.certportal.wifi", display_name="Wi-Fi certificates")


@pytest.fixture(scope="module")
def intermediate() -> x509.Certificate:
    return self_signed_ca("certportal Test Intermediate")


SUBJECT = x509.Name(
    [
        x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
        x509.NameAttribute(NameOID.STATE_OR_PROVINCE_NAME, "WA"),
        x509.NameAttribute(NameOID.LOCALITY_NAME, "Redmond"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Contoso"),
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "Mobile"),
        x509.NameAttribute(NameOID.COMMON_NAME, "jane@contoso.com"),
    ]
)


def _scep(root: x509.Certificate, **overrides: object) -> ScepPayload:
    values: dict[str, object] = {
        "identifier": "com.example.certportal.wifi.scep",
        "display_name": "SCEP: Wi-Fi",
        "url": "https://scep.example.com/certsrv/mscep/mscep.dll",
        "subject": SUBJECT,
        "challenge": "0123456789abcdef",
        "ca_certificate": root,
    }
    values.update(overrides)
    return ScepPayload(**values)  # type: ignore[arg-type]


def _root_payload(
    root: x509.Certificate, identifier: str = "com.example.certportal.wifi.root"
) -> RootCertificatePayload:
    return RootCertificatePayload(
        identifier=identifier, display_name="Contoso Root CA", certificate=root, file_name="contoso-root.cer"
    )


def _load(data: bytes) -> dict[str, Any]:
    assert data.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    document: dict[str, Any] = plistlib.loads(data, fmt=plistlib.FMT_XML)
    return document


def test_full_profile(root):
    scep = _scep(
        root,
        name="ContosoCA",
        key_size=4096,
        retries=5,
        retry_delay=30,
        subject_alt_names=(
            x509.RFC822Name("jane@contoso.com"),
            x509.DNSName("phone.contoso.com"),
            x509.DNSName("alt.contoso.com"),
            x509.UniformResourceIdentifier("tag:microsoft.com,2022-09-14:sid:S-1-5-21-1-2-3-1001"),
            upn_general_name("jane@corp.contoso.com"),
        ),
        allow_all_apps_access=True,
        key_is_extractable=False,
    )
    profile = ProfileInfo(
        identifier="com.example.certportal.wifi",
        display_name="Wi-Fi certificates",
        organization="Contoso",
        description="Root and SCEP for Wi-Fi",
        scope="System",
        removal_disallowed=True,
    )
    document = _load(build_mobileconfig(profile, [_root_payload(root), scep]))

    assert {k: v for k, v in document.items() if k != "PayloadContent"} == {
        "PayloadType": "Configuration",
        "PayloadVersion": 1,
        "PayloadIdentifier": "com.example.certportal.wifi",
        "PayloadUUID": payload_uuid("com.example.certportal.wifi"),
        "PayloadDisplayName": "Wi-Fi certificates",
        "PayloadOrganization": "Contoso",
        "PayloadDescription": "Root and SCEP for Wi-Fi",
        "PayloadScope": "System",
        "PayloadRemovalDisallowed": True,
    }
    root_payload, scep_payload = document["PayloadContent"]
    assert root_payload == {
        "PayloadType": "com.apple.security.root",
        "PayloadVersion": 1,
        "PayloadIdentifier": "com.example.certportal.wifi.root",
        "PayloadUUID": payload_uuid("com.example.certportal.wifi.root"),
        "PayloadDisplayName": "Contoso Root CA",
        "PayloadContent": root.public_bytes(Encoding.DER),
        "PayloadCertificateFileName": "contoso-root.cer",
    }
    assert x509.load_der_x509_certificate(root_payload["PayloadContent"]) == root
    assert scep_payload == {
        "PayloadType": "com.apple.security.scep",
        "PayloadVersion": 1,
        "PayloadIdentifier": "com.example.certportal.wifi.scep",
        "PayloadUUID": payload_uuid("com.example.certportal.wifi.scep"),
        "PayloadDisplayName": "SCEP: Wi-Fi",
        "PayloadContent": {
            "URL": "https://scep.example.com/certsrv/mscep/mscep.dll",
            "Name": "ContosoCA",
            "Subject": [
                [["C", "US"]],
                [["ST", "WA"]],
                [["L", "Redmond"]],
                [["O", "Contoso"]],
                [["OU", "Mobile"]],
                [["CN", "jane@contoso.com"]],
            ],
            "Challenge": "0123456789abcdef",
            "Keysize": 4096,
            "Key Type": "RSA",
            "Key Usage": 5,
            "CAFingerprint": root.fingerprint(hashes.SHA1()),  # noqa: S303 - the thumbprint under test
            "Retries": 5,
            "RetryDelay": 30,
            "SubjectAltName": {
                "rfc822Name": "jane@contoso.com",
                "dNSName": ["phone.contoso.com", "alt.contoso.com"],
                "uniformResourceIdentifier": "tag:microsoft.com,2022-09-14:sid:S-1-5-21-1-2-3-1001",
                "ntPrincipalName": "jane@corp.contoso.com",
            },
            "AllowAllAppsAccess": True,
            "KeyIsExtractable": False,
        },
    }
    assert len(scep_payload["PayloadContent"]["CAFingerprint"]) == 20


def test_minimal_scep_payload_omits_optional_keys(root):
    document = _load(
        build_mobileconfig(PROFILE, [_scep(root, subject=x509.Name([]), challenge=None, ca_certificate=None)])
    )
    assert set(document) == {
        "PayloadType",
        "PayloadVersion",
        "PayloadIdentifier",
        "PayloadUUID",
        "PayloadDisplayName",
        "PayloadContent",
    }
    (scep,) = document["PayloadContent"]
    assert scep["PayloadContent"] == {
        "URL": "https://scep.example.com/certsrv/mscep/mscep.dll",
        "Keysize": 2048,
        "Key Type": "RSA",
        "Key Usage": 5,
        "Retries": 3,
        "RetryDelay": 10,
    }


@pytest.mark.parametrize(
    ("digital_signature", "key_encipherment", "expected"),
    [(True, False, 1), (False, True, 4), (True, True, 5)],
)
def test_key_usage_bits(root, digital_signature, key_encipherment, expected):
    payload = _scep(root, digital_signature=digital_signature, key_encipherment=key_encipherment)
    (scep,) = _load(build_mobileconfig(PROFILE, [payload]))["PayloadContent"]
    assert scep["PayloadContent"]["Key Usage"] == expected


@pytest.mark.parametrize("key_size", [1024, 2048, 4096])
def test_key_sizes(root, key_size):
    (scep,) = _load(build_mobileconfig(PROFILE, [_scep(root, key_size=key_size)]))["PayloadContent"]
    assert scep["PayloadContent"]["Keysize"] == key_size


def test_several_roots_and_order_is_kept(root, intermediate):
    payloads: list[RootCertificatePayload | ScepPayload] = [
        _root_payload(root, "com.example.a"),
        _scep(root, identifier="com.example.b"),
        _root_payload(intermediate, "com.example.c"),
    ]
    document = _load(build_mobileconfig(PROFILE, payloads))
    assert [p["PayloadIdentifier"] for p in document["PayloadContent"]] == [
        "com.example.a",
        "com.example.b",
        "com.example.c",
    ]
    assert document["PayloadContent"][2]["PayloadContent"] == intermediate.public_bytes(Encoding.DER)


# --------------------------------------------------------------------------------------------------
# Subject and SubjectAltName mapping


@pytest.mark.parametrize(
    ("oid", "key"),
    [
        (NameOID.COUNTRY_NAME, "C"),
        (NameOID.LOCALITY_NAME, "L"),
        (NameOID.STATE_OR_PROVINCE_NAME, "ST"),
        (NameOID.ORGANIZATION_NAME, "O"),
        (NameOID.ORGANIZATIONAL_UNIT_NAME, "OU"),
        (NameOID.COMMON_NAME, "CN"),
        (NameOID.EMAIL_ADDRESS, "1.2.840.113549.1.9.1"),
        (NameOID.DOMAIN_COMPONENT, "0.9.2342.19200300.100.1.25"),
        (NameOID.SERIAL_NUMBER, "2.5.4.5"),
        (NameOID.SURNAME, "2.5.4.4"),
        (NameOID.GIVEN_NAME, "2.5.4.42"),
        (NameOID.TITLE, "2.5.4.12"),
        (NameOID.STREET_ADDRESS, "2.5.4.9"),
        (x509.ObjectIdentifier("1.2.5.3"), "1.2.5.3"),
    ],
)
def test_subject_keys(oid, key):
    value = "US" if oid == NameOID.COUNTRY_NAME else "value"
    assert apple_subject(x509.Name([x509.NameAttribute(oid, value)])) == [[[key, value]]]


def test_subject_multi_valued_rdn():
    name = x509.Name(
        [
            x509.RelativeDistinguishedName(
                [
                    x509.NameAttribute(NameOID.COMMON_NAME, "a"),
                    x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "b"),
                ]
            ),
            x509.RelativeDistinguishedName([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "c")]),
        ]
    )
    assert apple_subject(name) == [[["CN", "a"], ["OU", "b"]], [["O", "c"]]]


def test_subject_refuses_binary_values():
    name = x509.Name([x509.NameAttribute(NameOID.X500_UNIQUE_IDENTIFIER, b"\x01", _ASN1Type.BitString)])
    with pytest.raises(ExportError, match="binary value"):
        apple_subject(name)


def test_subject_alt_names_string_or_list():
    assert apple_subject_alt_names([x509.DNSName("a"), x509.RFC822Name("b@c"), x509.DNSName("d")]) == {
        "dNSName": ["a", "d"],
        "rfc822Name": "b@c",
    }
    assert apple_subject_alt_names([]) == {}


@pytest.mark.parametrize(
    "name",
    [
        x509.IPAddress(ipaddress.ip_address("192.0.2.1")),
        x509.OtherName(x509.ObjectIdentifier("1.2.3"), b"\x0c\x01a"),
        x509.DirectoryName(x509.Name([])),
        x509.RegisteredID(x509.ObjectIdentifier("1.2.3")),
    ],
)
def test_unsupported_subject_alt_names(name):
    with pytest.raises(ExportError, match="cannot carry"):
        apple_subject_alt_names([name])


def test_rendered_request_goes_straight_into_the_payload(root):
    fmt = parse_subject_format(
        'CN={{UserName}},OU="Mobile, EU",O=Contoso,C=US', certificate_type=CertificateType.USER
    )
    sans = parse_san_entries(
        [(SanType.EMAIL, "{{EmailAddress}}"), (SanType.UPN, "{{UserPrincipalName}}")],
        certificate_type=CertificateType.USER,
    )
    ctx = RenderContext(
        user_name="Eve, CN=Administrator", email="eve@contoso.com", upn="eve@corp.contoso.com"
    )
    request = render_request(fmt, sans, ctx)
    payload = _scep(root, subject=request.subject, subject_alt_names=request.sans)
    (scep,) = _load(build_mobileconfig(PROFILE, [payload]))["PayloadContent"]
    assert scep["PayloadContent"]["Subject"] == [
        [["CN", "Eve, CN=Administrator"]],
        [["OU", "Mobile, EU"]],
        [["O", "Contoso"]],
        [["C", "US"]],
    ]
    assert scep["PayloadContent"]["SubjectAltName"] == {
        "rfc822Name": "eve@contoso.com",
        "ntPrincipalName": "eve@corp.contoso.com",
    }


# --------------------------------------------------------------------------------------------------
# escaping and determinism

HOSTILE = ['<&">', "]]></string><key>Evil</key><string>", "&amp;", "'\"", "Ünïcödé ✓", "a\tb"]


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_values_are_escaped(root, value):
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, value)])
    payload = _scep(root, challenge=value, subject=subject, display_name=value, name=value)
    profile = ProfileInfo(
        identifier="com.example.x", display_name=value, organization=value, description=value
    )
    document = _load(build_mobileconfig(profile, [payload]))
    assert document["PayloadDisplayName"] == value
    assert document["PayloadOrganization"] == value
    (scep,) = document["PayloadContent"]
    assert scep["PayloadDisplayName"] == value
    assert scep["PayloadContent"]["Challenge"] == value
    assert scep["PayloadContent"]["Name"] == value
    assert scep["PayloadContent"]["Subject"] == [[["CN", value]]]
    assert "Evil" not in scep["PayloadContent"]


@pytest.mark.parametrize("value", ["a\x00b", "bell\x07", "esc\x1b"])
def test_control_characters_are_refused(root, value):
    with pytest.raises(ExportError, match="property list"):
        build_mobileconfig(PROFILE, [_scep(root, challenge=value)])


def test_output_is_deterministic(root):
    payloads: list[RootCertificatePayload | ScepPayload] = [_root_payload(root), _scep(root)]
    assert build_mobileconfig(PROFILE, payloads) == build_mobileconfig(PROFILE, payloads)


def test_uuid_is_stable_across_challenges(root):
    first = _load(build_mobileconfig(PROFILE, [_scep(root, challenge="one")]))
    second = _load(build_mobileconfig(PROFILE, [_scep(root, challenge="two")]))
    assert first["PayloadUUID"] == second["PayloadUUID"]
    assert first["PayloadContent"][0]["PayloadUUID"] == second["PayloadContent"][0]["PayloadUUID"]


def test_payload_uuid():
    value = payload_uuid("com.example.a")
    parsed = uuid.UUID(value)
    assert value == str(parsed).upper()
    assert parsed.version == 5
    assert parsed == uuid.uuid5(PAYLOAD_UUID_NAMESPACE, "com.example.a")
    assert payload_uuid("com.example.a") != payload_uuid("com.example.b")
    # pinned: changing the namespace would make every device see new payloads
    assert uuid.uuid5(uuid.NAMESPACE_URL, "urn:certportal:mobileconfig:payload") == PAYLOAD_UUID_NAMESPACE


# --------------------------------------------------------------------------------------------------
# errors


@pytest.mark.parametrize(
    ("payloads", "profile", "message"),
    [
        (lambda r: [_scep(r), _scep(r)], PROFILE, "duplicate PayloadIdentifier"),
        (lambda r: [_scep(r, identifier=PROFILE.identifier)], PROFILE, "duplicate PayloadIdentifier"),
        (lambda r: [_scep(r, identifier=" ")], PROFILE, "PayloadIdentifier is empty"),
        (lambda r: [], ProfileInfo(identifier="", display_name="x"), "PayloadIdentifier is empty"),
        (lambda r: [_scep(r, url="ftp://scep.example.com/")], PROFILE, "must start with https:// or http://"),
        (lambda r: [_scep(r, url="scep.example.com")], PROFILE, "must start with https:// or http://"),
        (lambda r: [_scep(r, key_size=3072)], PROFILE, "key size 3072"),
        (
            lambda r: [_scep(r, digital_signature=False, key_encipherment=False)],
            PROFILE,
            "at least one key usage",
        ),
        (lambda r: [_scep(r, retries=-1)], PROFILE, "must not be negative"),
        (lambda r: [_scep(r, retry_delay=-1)], PROFILE, "must not be negative"),
        (
            lambda r: [_scep(r, subject_alt_names=(x509.IPAddress(ipaddress.ip_address("::1")),))],
            PROFILE,
            "cannot carry",
        ),
        (lambda r: [_root_payload(r).__class__("com.example.r", "R", r, "")], PROFILE, "file name is empty"),
        (
            lambda r: [],
            ProfileInfo(identifier="com.example.p", display_name="P", scope="Device"),
            "PayloadScope",
        ),
    ],
)
def test_errors(root, payloads, profile, message):
    with pytest.raises(ExportError, match=message):
        build_mobileconfig(profile, payloads(root))
