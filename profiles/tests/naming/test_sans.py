"""profiles.naming.sans: SAN templates, their errors, SIDs, UPNs, injection."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from cryptography import x509

from ca.crypto.identities import OID_UPN, SID_URI_PREFIX, upn_from_general_name
from profiles.naming.sans import SanType, parse_san_entries, render_sans, validate_sid
from profiles.naming.variables import (
    MissingVariable,
    RenderContext,
    RenderError,
    SanFormatError,
)
from profiles.tests.naming.samples import (
    DEVICE,
    DEVICE_VARIABLES,
    FULL,
    HOSTILE,
    SID,
    USER,
)

# --------------------------------------------------------------------------------------------------
# SAN templates

SAN_RENDER_TABLE = [
    (SanType.EMAIL, "{{EmailAddress}}", USER, x509.RFC822Name("jane.doe@contoso.com")),
    (SanType.EMAIL, "it@contoso.com", DEVICE, x509.RFC822Name("it@contoso.com")),
    (SanType.UPN, "{{UserPrincipalName}}", USER, x509.OtherName(OID_UPN, b"\x0c\x15jane@corp.contoso.com")),
    (
        SanType.UPN,
        "{{OnPremisesUserPrincipalName}}",
        USER,
        x509.OtherName(OID_UPN, b"\x0c\x17jdoe@corp.contoso.local"),
    ),
    (SanType.UPN, "{{UserName}}", USER, x509.OtherName(OID_UPN, b"\x0c\x13janedoe@contoso.com")),
    (SanType.DNS, "{{DeviceName}}", DEVICE, x509.DNSName("win-pc01")),
    (SanType.DNS, "{{DeviceName}}.Corp.Contoso.com", DEVICE, x509.DNSName("win-pc01.corp.contoso.com")),
    (
        SanType.DNS,
        "{{AzureADDeviceId}}.domain.com",
        DEVICE,
        x509.DNSName("a1b2c3d4-2222-4e5f-8a9b-000000000002.domain.com"),
    ),
    (SanType.DNS, "{{FullyQualifiedDomainName}}", DEVICE, x509.DNSName("win-pc01.corp.contoso.com")),
    (SanType.DNS, "{{IMEI}}.imei.example", DEVICE, x509.DNSName("356938035643809.imei.example")),
    (SanType.DNS, "{{SERIALNUMBER}}.example", DEVICE, x509.DNSName("c02xk0aajgh5.example")),
    (
        SanType.URI,
        "{{OnPremisesSecurityIdentifier}}",
        USER,
        x509.UniformResourceIdentifier(SID_URI_PREFIX + SID),
    ),
    (
        SanType.URI,
        "{{onpremisessecurityidentifier}}",
        USER,
        x509.UniformResourceIdentifier(SID_URI_PREFIX + SID),
    ),
    (
        SanType.URI,
        "urn:device:{{DeviceId}}",
        DEVICE,
        x509.UniformResourceIdentifier("urn:device:5f0e3a1c-1111-4a3b-9c7d-000000000001"),
    ),
    (
        SanType.URI,
        "https://id.example/{{AAD_Device_ID}}",
        DEVICE,
        x509.UniformResourceIdentifier("https://id.example/a1b2c3d4-2222-4e5f-8a9b-000000000002"),
    ),
    (
        SanType.URI,
        "  https://trimmed.example/  ",
        DEVICE,
        x509.UniformResourceIdentifier("https://trimmed.example/"),
    ),
]


@pytest.mark.parametrize(("san_type", "text", "certificate_type", "expected"), SAN_RENDER_TABLE)
def test_san_rendering(san_type, text, certificate_type, expected):
    templates = parse_san_entries([(san_type, text)], certificate_type=certificate_type)
    assert render_sans(templates, FULL) == [expected]


@pytest.mark.parametrize(("placeholder", "attribute", "scope"), DEVICE_VARIABLES)
def test_every_device_variable_in_a_uri_san(placeholder, attribute, scope):
    templates = parse_san_entries([(SanType.URI, f"urn:x:{placeholder}")], certificate_type=DEVICE)
    assert render_sans(templates, FULL) == [
        x509.UniformResourceIdentifier(f"urn:x:{getattr(FULL, attribute)}")
    ]


def test_sans_keep_their_order_and_accept_graph_flag_values():
    templates = parse_san_entries(
        [(8, "{{DeviceName}}.example"), (1, "{{EmailAddress}}"), (2, "{{UserPrincipalName}}"), (16, "urn:a")],
        certificate_type=USER,
    )
    assert [t.san_type for t in templates] == [SanType.DNS, SanType.EMAIL, SanType.UPN, SanType.URI]
    rendered = render_sans(templates, FULL)
    assert [type(n) for n in rendered] == [
        x509.DNSName,
        x509.RFC822Name,
        x509.OtherName,
        x509.UniformResourceIdentifier,
    ]


def test_upn_uses_der_long_form_lengths():
    upn = "u" * 200 + "@contoso.com"
    (name,) = render_sans(parse_san_entries([(SanType.UPN, upn)], certificate_type=USER), RenderContext())
    assert isinstance(name, x509.OtherName)
    assert name.value == b"\x0c\x81\xd4" + upn.encode()
    assert upn_from_general_name(name) == upn


def test_upn_is_utf8():
    (name,) = render_sans(
        parse_san_entries([(SanType.UPN, "{{UserPrincipalName}}")], certificate_type=USER),
        RenderContext(upn="jürgen@contoso.com"),
    )
    assert isinstance(name, x509.OtherName)
    assert name.value == b"\x0c\x13" + "jürgen@contoso.com".encode()


SAN_PARSE_ERRORS = [
    (SanType.DNS, "{{DeviceName}}.{example}.com", DEVICE, "curly brackets not enclosing a variable"),
    (SanType.DNS, "{DeviceName}", DEVICE, "curly brackets not enclosing a variable"),
    (SanType.DNS, "{{DeviceName}}}", DEVICE, "curly brackets not enclosing a variable"),
    (SanType.DNS, "host}", DEVICE, "curly brackets not enclosing a variable"),
    (
        SanType.DNS,
        "{{DeviceName}}|x",
        DEVICE,
        "'|' is not allowed in the static text of the DNS subject alternative",
    ),
    (SanType.DNS, "{{DeviceName}};x", DEVICE, "';' is not allowed in the static text"),
    (SanType.EMAIL, "a;b@x", USER, "';' is not allowed"),
    (SanType.URI, "urn:a|b", USER, "'|' is not allowed"),
    (
        SanType.DNS,
        "{{Nope}}.x",
        DEVICE,
        "unknown variable {{Nope}} in the DNS subject alternative name (entry 1)",
    ),
    (SanType.DNS, "{{devicenam}}", DEVICE, "did you mean {{DeviceName}}?"),
    (SanType.UPN, "{{UserPrincipalName}}", DEVICE, "is a user variable"),
    (SanType.EMAIL, "{{EmailAddress}}", DEVICE, "is a user variable"),
    (
        SanType.DNS,
        "{{OnPremisesSecurityIdentifier}}",
        USER,
        "can only be used in a URI subject alternative name",
    ),
    (
        SanType.UPN,
        "{{OnPremisesSecurityIdentifier}}",
        USER,
        "can only be used in a URI subject alternative name",
    ),
    (
        SanType.EMAIL,
        "{{OnPremisesSecurityIdentifier}}",
        USER,
        "can only be used in a URI subject alternative name",
    ),
    (SanType.URI, "urn:{{OnPremisesSecurityIdentifier}}", USER, "must be the whole value of the URI"),
    (
        SanType.URI,
        "{{OnPremisesSecurityIdentifier}}{{OnPremisesSecurityIdentifier}}",
        USER,
        "must be the whole value",
    ),
    (SanType.DNS, "", DEVICE, "empty value for the DNS subject alternative name (entry 1)"),
    (SanType.DNS, "   ", DEVICE, "empty value"),
    (4, "x", USER, "unknown subject alternative name type 4"),
    (99, "x", USER, "unknown subject alternative name type 99"),
]


@pytest.mark.parametrize(("san_type", "text", "certificate_type", "message"), SAN_PARSE_ERRORS)
def test_san_parse_errors(san_type, text, certificate_type, message):
    with pytest.raises(SanFormatError) as info:
        parse_san_entries([(san_type, text)], certificate_type=certificate_type)
    assert message in str(info.value)


def test_san_error_names_the_entry():
    with pytest.raises(SanFormatError, match=r"entry 3"):
        parse_san_entries(
            [(SanType.DNS, "a.example"), (SanType.DNS, "b.example"), (SanType.DNS, "{{x}}")],
            certificate_type=DEVICE,
        )


SAN_RENDER_ERRORS = [
    (SanType.DNS, "{{DeviceName}}", "Jane's iPhone", "is not a valid DNS name"),
    (SanType.DNS, "{{DeviceName}}", "my_host", "is not a valid DNS name"),
    (SanType.DNS, "{{DeviceName}}.example", "-bad", "is not a valid DNS name"),
    (SanType.DNS, "{{DeviceName}}.example", "bad-", "is not a valid DNS name"),
    (SanType.DNS, "a.{{DeviceName}}.b", "", None),
    (SanType.DNS, "{{DeviceName}}.example", "x" * 64, "is not a valid DNS name"),
    (SanType.DNS, "{{DeviceName}}", ("a" * 63 + ".") * 4 + "a", "is not a valid DNS name"),
    (SanType.DNS, "{{DeviceName}}.example", "a..b", "is not a valid DNS name"),
    (SanType.DNS, "{{DeviceName}}", "host.", "is not a valid DNS name"),
    (SanType.DNS, "{{DeviceName}}", "*.example", "is not a valid DNS name"),
    (SanType.DNS, "{{DeviceName}}.example", "bücher", "is not an ASCII DNS name"),
    (SanType.DNS, "{{DeviceName}}", "a\x00b", "control character U+0000"),
    (SanType.EMAIL, "{{EmailAddress}}", "no-at-sign", "is not of the form name@domain"),
    (SanType.EMAIL, "{{EmailAddress}}", "a@b@c", "is not of the form name@domain"),
    (SanType.EMAIL, "{{EmailAddress}}", "@contoso.com", "is not of the form name@domain"),
    (SanType.EMAIL, "{{EmailAddress}}", "jane@", "is not of the form name@domain"),
    (SanType.EMAIL, "{{EmailAddress}}", "ja ne@contoso.com", "is not of the form name@domain"),
    (SanType.EMAIL, "{{EmailAddress}}", "jürgen@contoso.com", "must be ASCII"),
    (SanType.EMAIL, "{{EmailAddress}}", "jane@bad_domain", "is not a valid DNS name"),
    (SanType.UPN, "{{UserPrincipalName}}", "jane", "is not of the form name@domain"),
    (SanType.UPN, "{{UserPrincipalName}}", "ja ne@contoso.com", "is not of the form name@domain"),
    (SanType.UPN, "{{UserPrincipalName}}", "jane@contoso.com\n", "control character U+000A"),
    (SanType.URI, "{{UserName}}", "no-scheme", "is not an absolute ASCII URI"),
    (SanType.URI, "urn:{{UserName}}", "has space", "is not an absolute ASCII URI"),
    (SanType.URI, "https://{{UserName}}", "bücher.example", "is not an absolute ASCII URI"),
    (SanType.URI, "{{OnPremisesSecurityIdentifier}}", "S-1-5", "is not a Windows security identifier"),
    (SanType.URI, "{{OnPremisesSecurityIdentifier}}", "S-1-5-21-x", "is not a Windows security identifier"),
    (
        SanType.URI,
        "{{OnPremisesSecurityIdentifier}}",
        "S-1-5-21-1,CN=x",
        "is not a Windows security identifier",
    ),
]


@pytest.mark.parametrize(("san_type", "text", "value", "message"), SAN_RENDER_ERRORS)
def test_san_render_errors(san_type, text, value, message):
    templates = parse_san_entries([(san_type, text)], certificate_type=USER)
    ctx = dataclasses.replace(
        FULL, device_name=value, email=value, upn=value, user_name=value, on_prem_sid=value
    )
    if message is None:  # an empty variable is missing, not invalid
        with pytest.raises(MissingVariable, match="in the DNS subject alternative name"):
            render_sans(templates, ctx)
        return
    with pytest.raises(RenderError) as info:
        render_sans(templates, ctx)
    assert message in str(info.value)


@pytest.mark.parametrize(
    ("text", "attribute", "label"),
    [
        ("{{IMEI}}.x", "imei", "DNS"),
        ("{{EmailAddress}}", "email", "email"),
        ("{{UserPrincipalName}}", "upn", "UPN"),
        ("{{OnPremisesSecurityIdentifier}}", "on_prem_sid", "URI"),
    ],
)
def test_san_missing_variable(text, attribute, label):
    san_type = {"DNS": SanType.DNS, "email": SanType.EMAIL, "UPN": SanType.UPN, "URI": SanType.URI}[label]
    templates = parse_san_entries([(san_type, text)], certificate_type=USER)
    missing: dict[str, Any] = {attribute: None}
    with pytest.raises(MissingVariable, match=f"in the {label} subject alternative name$"):
        render_sans(templates, dataclasses.replace(FULL, **missing))


@pytest.mark.parametrize(
    ("sid", "expected"),
    [
        (SID, SID),
        ("S-1-5-18", "S-1-5-18"),
        ("s-1-5-32-544", "S-1-5-32-544"),
        ("S-1-281474976710655-4294967295", "S-1-281474976710655-4294967295"),
        ("S-1-5-21-1-2-3-4-5-6-7-8-9-10-11-12-13-14", "S-1-5-21-1-2-3-4-5-6-7-8-9-10-11-12-13-14"),
    ],
)
def test_valid_sids(sid, expected):
    assert validate_sid(sid) == expected
    templates = parse_san_entries([(SanType.URI, "{{OnPremisesSecurityIdentifier}}")], certificate_type=USER)
    assert render_sans(templates, RenderContext(on_prem_sid=sid)) == [
        x509.UniformResourceIdentifier(f"tag:microsoft.com,2022-09-14:sid:{expected}")
    ]


@pytest.mark.parametrize(
    "sid",
    [
        "",
        "S-1",
        "S-1-5",
        "S-2-5-21",
        "X-1-5-21",
        "S-1-5-21-",
        "S-1-5--21",
        " S-1-5-21",
        "S-1-5-21 ",
        "S-1-281474976710656-1",
        "S-1-5-4294967296",
        "S-1-5-1-2-3-4-5-6-7-8-9-10-11-12-13-14-15-16",
        "S-1-5-21\nS-1-5-18",
        "S-1-5-٢١",
    ],
)
def test_invalid_sids(sid):
    with pytest.raises(RenderError, match="is not a Windows security identifier"):
        validate_sid(sid)


def test_template_objects_describe_themselves():
    (template,) = parse_san_entries([(SanType.DNS, "{{DeviceName}}.example")], certificate_type=DEVICE)
    assert str(template) == "DNS:{{DeviceName}}.example"
    assert not template.value.is_static
    assert not template.is_sid_uri
    (static,) = parse_san_entries([(SanType.URI, "urn:x")], certificate_type=DEVICE)
    assert static.value.is_static
    assert not static.is_sid_uri


@pytest.mark.parametrize("value", HOSTILE)
def test_injection_in_san_values_stays_in_one_name(value):
    templates = parse_san_entries([(SanType.UPN, "{{UserPrincipalName}}")], certificate_type=USER)
    upn = value.replace(" ", "").replace("@", "") + "@contoso.com"
    if not upn.split("@")[0]:
        upn = "x" + upn
    (rendered,) = render_sans(templates, RenderContext(upn=upn))
    assert upn_from_general_name(rendered) == upn
