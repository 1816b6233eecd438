"""ca.crypto.names: subject and SANs survive the JSON round trip (RA -> queue -> CA) exactly."""

from __future__ import annotations

import ipaddress
import json

import pytest

from asn1crypto.core import UTF8String
from cryptography import x509
from cryptography.x509.name import _ASN1Type
from cryptography.x509.oid import NameOID, ObjectIdentifier

from ca.crypto.identities import OID_UPN
from ca.crypto.names import (
    general_name_from_json,
    general_name_to_json,
    general_name_to_text,
    name_from_json,
    name_to_json,
)

UPN = x509.OtherName(OID_UPN, UTF8String("administrator@corp.example").dump())


def _through_json(value):
    return json.loads(json.dumps(value))


def test_name_round_trip_keeps_order_values_and_string_types():
    name = x509.Name(
        [
            x509.RelativeDistinguishedName([x509.NameAttribute(NameOID.COUNTRY_NAME, "DE")]),
            x509.RelativeDistinguishedName(
                [x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Bücher & Söhne GmbH")]
            ),
            x509.RelativeDistinguishedName(
                [
                    x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "Devices"),
                    x509.NameAttribute(NameOID.DOMAIN_COMPONENT, "corp"),
                ]
            ),
            x509.RelativeDistinguishedName(
                [x509.NameAttribute(NameOID.COMMON_NAME, "device 1", _type=_ASN1Type.PrintableString)]
            ),
            x509.RelativeDistinguishedName(
                [x509.NameAttribute(NameOID.EMAIL_ADDRESS, "device1@corp.example")]
            ),
            x509.RelativeDistinguishedName([x509.NameAttribute(NameOID.SERIAL_NUMBER, "C02XK1ABJGH5")]),
        ]
    )
    restored = name_from_json(_through_json(name_to_json(name)))
    assert restored.public_bytes() == name.public_bytes()
    assert [[a._type for a in rdn] for rdn in restored.rdns] == [[a._type for a in rdn] for rdn in name.rdns]


def test_printable_and_utf8_common_names_are_different_der_and_both_survive():
    printable = x509.Name(
        [x509.NameAttribute(NameOID.COMMON_NAME, "device", _type=_ASN1Type.PrintableString)]
    )
    utf8 = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "device")])
    assert printable.public_bytes() != utf8.public_bytes()
    assert name_from_json(_through_json(name_to_json(printable))).public_bytes() == printable.public_bytes()
    assert name_from_json(_through_json(name_to_json(utf8))).public_bytes() == utf8.public_bytes()


def test_name_json_records_the_asn1_string_type():
    name = x509.Name.from_rfc4514_string("CN=device,C=US")
    assert name_to_json(name) == [
        [{"oid": "2.5.4.6", "value": "US", "type": _ASN1Type.PrintableString.value}],
        [{"oid": "2.5.4.3", "value": "device", "type": _ASN1Type.UTF8String.value}],
    ]


def test_empty_name_round_trips():
    assert name_from_json(name_to_json(x509.Name([]))) == x509.Name([])


@pytest.mark.parametrize(
    "general_name",
    [
        x509.DNSName("host.corp.example"),
        x509.DNSName("*.corp.example"),
        x509.RFC822Name("user@corp.example"),
        x509.UniformResourceIdentifier("https://corp.example/device/1"),
        x509.IPAddress(ipaddress.ip_address("192.0.2.7")),
        x509.IPAddress(ipaddress.ip_address("2001:db8::7")),
        UPN,
        x509.OtherName(ObjectIdentifier("1.2.3.4"), b"\x04\x03abc"),
        x509.RegisteredID(ObjectIdentifier("1.2.3.4.5")),
    ],
    ids=["dns", "wildcard", "email", "uri", "ipv4", "ipv6", "upn", "other", "rid"],
)
def test_general_name_round_trip(general_name):
    restored = general_name_from_json(_through_json(general_name_to_json(general_name)))
    assert restored == general_name
    assert type(restored) is type(general_name)


def test_upn_is_kept_as_its_der_utf8_string():
    data = general_name_to_json(UPN)
    assert data["type"] == "other"
    assert data["oid"] == "1.3.6.1.4.1.311.20.2.3"
    restored = general_name_from_json(_through_json(data))
    assert UTF8String.load(restored.value).native == "administrator@corp.example"


def test_directory_name_round_trip():
    general_name = x509.DirectoryName(x509.Name.from_rfc4514_string("CN=device,O=Corp"))
    assert general_name_from_json(_through_json(general_name_to_json(general_name))) == general_name


def test_unknown_general_name_type_is_refused():
    with pytest.raises(ValueError, match="unsupported general name type 'x400'"):
        general_name_from_json({"type": "x400", "value": ""})


@pytest.mark.parametrize(
    ("general_name", "text"),
    [
        (x509.DNSName("host.corp.example"), "DNS:host.corp.example"),
        (x509.RFC822Name("user@corp.example"), "email:user@corp.example"),
        (x509.UniformResourceIdentifier("https://corp.example/1"), "URI:https://corp.example/1"),
        (x509.IPAddress(ipaddress.ip_address("2001:db8::7")), "IP:2001:db8::7"),
        (UPN, "UPN:administrator@corp.example"),
        (x509.OtherName(OID_UPN, b"\xff\x00"), "UPN:ff00"),
        (x509.OtherName(ObjectIdentifier("1.2.3.4"), b"\x05\x00"), "otherName:1.2.3.4"),
        (x509.RegisteredID(ObjectIdentifier("1.2.3.4.5")), "RID:1.2.3.4.5"),
        (x509.DirectoryName(x509.Name.from_rfc4514_string("CN=device,O=Corp")), "dirName:CN=device,O=Corp"),
    ],
)
def test_general_name_to_text(general_name, text):
    assert general_name_to_text(general_name) == text
