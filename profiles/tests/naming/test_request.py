"""profiles.naming.request and the canonical forms it binds a challenge to (ca.crypto.canonical)."""

from __future__ import annotations

import dataclasses
import ipaddress

import pytest

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.name import _ASN1Type
from cryptography.x509.oid import NameOID

from ca.crypto.canonical import canonical_sans, canonical_subject
from ca.crypto.identities import OID_UPN, upn_from_general_name, upn_general_name
from profiles.naming.request import RenderedRequest, render_request
from profiles.naming.sans import SanType, parse_san_entries
from profiles.naming.subject import (
    parse_subject_format,
    render_subject,
)
from profiles.tests.naming.samples import (
    FULL,
    SID,
    USER,
    cn,
)

# --------------------------------------------------------------------------------------------------
# canonical forms


def test_canonical_subject_ignores_string_type():
    printable = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Jane Doe", _ASN1Type.PrintableString)])
    utf8 = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Jane Doe", _ASN1Type.UTF8String)])
    bmp = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Jane Doe", _ASN1Type.BMPString)])
    assert printable.public_bytes() != utf8.public_bytes()
    assert (
        canonical_subject(printable)
        == canonical_subject(utf8)
        == canonical_subject(bmp)
        == "2.5.4.3=Jane Doe"
    )


def test_canonical_subject_ignores_email_string_type():
    ia5 = x509.Name([x509.NameAttribute(NameOID.EMAIL_ADDRESS, "a@b.c", _ASN1Type.IA5String)])
    utf8 = x509.Name([x509.NameAttribute(NameOID.EMAIL_ADDRESS, "a@b.c", _ASN1Type.UTF8String)])
    assert canonical_subject(ia5) == canonical_subject(utf8)


def test_canonical_subject_survives_der_round_trip():
    name = render_subject(
        parse_subject_format('CN={{UserName}},O="A, B"+OU=c,C=US', certificate_type=USER), FULL
    )
    reparsed = _csr(name, []).subject
    assert canonical_subject(reparsed) == canonical_subject(name)


def test_canonical_subject_preserves_rdn_order():
    a = x509.Name(
        [
            x509.RelativeDistinguishedName([x509.NameAttribute(NameOID.COMMON_NAME, "a")]),
            x509.RelativeDistinguishedName([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "b")]),
        ]
    )
    b = x509.Name(list(reversed(a.rdns)))
    assert canonical_subject(a) == "2.5.4.3=a,2.5.4.10=b"
    assert canonical_subject(b) == "2.5.4.10=b,2.5.4.3=a"


def test_canonical_subject_sorts_inside_a_multi_valued_rdn():
    one = x509.NameAttribute(NameOID.COMMON_NAME, "a")
    two = x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "b")
    assert canonical_subject(x509.Name([x509.RelativeDistinguishedName([one, two])])) == canonical_subject(
        x509.Name([x509.RelativeDistinguishedName([two, one])])
    )


@pytest.mark.parametrize(
    ("left", "right"),
    [
        (
            cn("a,2.5.4.3=b"),
            x509.Name(
                [x509.NameAttribute(NameOID.COMMON_NAME, "a"), x509.NameAttribute(NameOID.COMMON_NAME, "b")]
            ),
        ),
        (
            cn("a+2.5.4.11=b"),
            x509.Name(
                [
                    x509.RelativeDistinguishedName(
                        [
                            x509.NameAttribute(NameOID.COMMON_NAME, "a"),
                            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "b"),
                        ]
                    )
                ]
            ),
        ),
        (cn("Jane"), cn("jane")),
        (cn("Jane "), cn("Jane")),
        (cn("a\\2Cb"), cn("a,b")),
        (cn("x"), x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "x")])),
        (cn("x"), x509.Name([])),
    ],
)
def test_canonical_subject_distinguishes(left, right):
    assert canonical_subject(left) != canonical_subject(right)


def test_canonical_subject_escapes_specials_and_controls():
    assert canonical_subject(cn('a,b+c=d"e<f>g;h#i\\j\x01')) == (
        "2.5.4.3=a\\2Cb\\2Bc\\3Dd\\22e\\3Cf\\3Eg\\3Bh\\23i\\5Cj\\01"
    )


def test_canonical_subject_binary_value():
    name = x509.Name([x509.NameAttribute(NameOID.X500_UNIQUE_IDENTIFIER, b"\x01\x02", _ASN1Type.BitString)])
    assert canonical_subject(name) == "2.5.4.45=#0102"


def test_canonical_sans():
    names = [
        x509.UniformResourceIdentifier("urn:b"),
        x509.DNSName("WWW.Example.COM"),
        x509.RFC822Name("Jane@Contoso.com"),
        upn_general_name("jane@contoso.com"),
        x509.OtherName(x509.ObjectIdentifier("1.2.3"), b"\x04\x01\x00"),
        x509.OtherName(OID_UPN, b"\x04\x01\x00"),
        x509.IPAddress(ipaddress.ip_address("192.0.2.1")),
        x509.DirectoryName(cn("x")),
        x509.RegisteredID(x509.ObjectIdentifier("1.2.4")),
    ]
    assert canonical_sans(names) == (
        "dirname:2.5.4.3=x",
        "dns:www.example.com",
        "email:Jane@Contoso.com",
        "ip:192.0.2.1",
        "othername:1.2.3:040100",
        "othername:1.3.6.1.4.1.311.20.2.3:040100",
        "rid:1.2.4",
        "upn:jane@contoso.com",
        "uri:urn:b",
    )


def test_canonical_sans_order_independent_and_type_tagged():
    a = [x509.DNSName("a.example"), x509.RFC822Name("x@a.example")]
    assert canonical_sans(a) == canonical_sans(list(reversed(a)))
    assert canonical_sans([x509.RFC822Name("x@a.example")]) != canonical_sans(
        [upn_general_name("x@a.example")]
    )


@pytest.mark.parametrize(
    "value",
    [
        b"",
        b"\x0c",
        b"\x0c\x05abc",
        b"\x0c\x01ab",
        b"\x0c\x80",
        b"\x0c\x85\x00\x00\x00\x00\x01a",
        b"\x0c\x02\xff\xfe",
    ],
)
def test_malformed_upn_other_names_are_not_upns(value):
    name = x509.OtherName(OID_UPN, value)
    assert upn_from_general_name(name) is None
    assert canonical_sans([name]) == (f"othername:1.3.6.1.4.1.311.20.2.3:{value.hex()}",)


def test_upn_long_form_length_decodes():
    upn = "x" * 300 + "@y"
    assert upn_from_general_name(x509.OtherName(OID_UPN, b"\x0c\x82\x01\x2e" + upn.encode())) == upn
    assert upn_from_general_name(x509.DNSName("a")) is None


# --------------------------------------------------------------------------------------------------
# RenderedRequest: binding a challenge and comparing with a CSR

_KEY = ec.generate_private_key(ec.SECP256R1())


def _csr(subject: x509.Name, sans: list[x509.GeneralName]) -> x509.CertificateSigningRequest:
    builder = x509.CertificateSigningRequestBuilder().subject_name(subject)
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    return builder.sign(_KEY, hashes.SHA256())


def _csr_sans(csr: x509.CertificateSigningRequest) -> list[x509.GeneralName]:
    try:
        return list(csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).value)
    except x509.ExtensionNotFound:
        return []


@pytest.fixture
def rendered() -> RenderedRequest:
    fmt = parse_subject_format('CN={{UserName}},OU="Mobile, EU",O=Contoso,C=US', certificate_type=USER)
    sans = parse_san_entries(
        [
            (SanType.UPN, "{{UserPrincipalName}}"),
            (SanType.EMAIL, "{{EmailAddress}}"),
            (SanType.DNS, "{{DeviceName}}.corp.contoso.com"),
            (SanType.URI, "{{OnPremisesSecurityIdentifier}}"),
        ],
        certificate_type=USER,
    )
    return render_request(fmt, sans, FULL)


def test_rendered_request_fields(rendered):
    assert rendered.subject == render_subject(
        parse_subject_format('CN={{UserName}},OU="Mobile, EU",O=Contoso,C=US', certificate_type=USER), FULL
    )
    assert rendered.canonical_subject == (
        "2.5.4.3=janedoe@contoso.com,2.5.4.11=Mobile\\2C EU,2.5.4.10=Contoso,2.5.4.6=US"
    )
    assert rendered.canonical_sans == (
        "dns:win-pc01.corp.contoso.com",
        "email:jane.doe@contoso.com",
        "upn:jane@corp.contoso.com",
        f"uri:tag:microsoft.com,2022-09-14:sid:{SID}",
    )
    assert isinstance(rendered.sans, tuple)
    with pytest.raises(dataclasses.FrozenInstanceError):
        rendered.canonical_subject = "x"


def test_rendered_request_matches_a_csr_with_other_string_types_and_order(rendered):
    string_types = {
        NameOID.COMMON_NAME: _ASN1Type.BMPString,
        NameOID.ORGANIZATIONAL_UNIT_NAME: _ASN1Type.PrintableString,
        NameOID.ORGANIZATION_NAME: _ASN1Type.PrintableString,
        NameOID.COUNTRY_NAME: _ASN1Type.PrintableString,
    }
    device_subject = x509.Name(
        [
            x509.RelativeDistinguishedName(
                [x509.NameAttribute(a.oid, a.value, string_types[a.oid]) for a in rdn]
            )
            for rdn in rendered.subject.rdns
        ]
    )
    csr = _csr(device_subject, list(reversed(rendered.sans)))
    assert csr.subject.public_bytes() != rendered.subject.public_bytes()
    assert rendered.matches(csr.subject, _csr_sans(csr))


@pytest.mark.parametrize(
    "tamper",
    [
        lambda r: (
            x509.Name(
                [
                    *r.subject.rdns,
                    x509.RelativeDistinguishedName(
                        [x509.NameAttribute(NameOID.COMMON_NAME, "Administrator")]
                    ),
                ]
            ),
            list(r.sans),
        ),
        lambda r: (x509.Name(list(reversed(r.subject.rdns))), list(r.sans)),
        lambda r: (r.subject, [*r.sans, x509.DNSName("evil.example")]),
        lambda r: (r.subject, list(r.sans)[1:]),
        lambda r: (cn("janedoe@contoso.com"), list(r.sans)),
    ],
)
def test_rendered_request_rejects_a_different_csr(rendered, tamper):
    subject, sans = tamper(rendered)
    csr = _csr(subject, sans)
    assert not rendered.matches(csr.subject, _csr_sans(csr))


def test_dns_case_does_not_matter_when_matching(rendered):
    sans = [x509.DNSName(n.value.upper()) if isinstance(n, x509.DNSName) else n for n in rendered.sans]
    assert rendered.matches(rendered.subject, sans)
