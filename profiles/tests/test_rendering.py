"""Tables for profiles.rendering: variables, keys, quoting, errors, injection, SANs, canonical forms."""

from __future__ import annotations

import dataclasses
import ipaddress
from typing import Any

import pytest

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.name import _ASN1Type
from cryptography.x509.oid import NameOID

from profiles.rendering import (
    SID_URI_PREFIX,
    UPN_OID,
    VARIABLES,
    CertificateType,
    MissingVariable,
    RenderContext,
    RenderedRequest,
    RenderError,
    SanFormatError,
    SanType,
    SubjectFormatError,
    SubjectNameFormat,
    TemplateError,
    VariableScope,
    canonical_sans,
    canonical_subject,
    lookup_variable,
    parse_san_entries,
    parse_subject_format,
    render_request,
    render_sans,
    render_subject,
    sid_san,
    subject_format_for,
    upn_from_san,
    upn_san,
    validate_sid,
    x500_subject_string,
)

USER = CertificateType.USER
DEVICE = CertificateType.DEVICE

SID = "S-1-5-21-3623811015-3361044348-30300820-1013"

# A context in which every attribute has a distinct value.
FULL = RenderContext(
    user_name="janedoe@contoso.com",
    email="jane.doe@contoso.com",
    upn="jane@corp.contoso.com",
    on_prem_distinguished_name="CN=Jane Doe,OU=UserAccounts,DC=corp,DC=contoso,DC=com",
    on_prem_sam_account_name="CONTOSO\\jdoe",
    on_prem_sid=SID,
    on_prem_upn="jdoe@corp.contoso.local",
    department="Finance",
    device_id="5f0e3a1c-1111-4a3b-9c7d-000000000001",
    aad_device_id="a1b2c3d4-2222-4e5f-8a9b-000000000002",
    serial_number="C02XK0AAJGH5",
    imei="356938035643809",
    meid="A0000000002329",
    wifi_mac="00:11:22:AA:BB:CC",
    device_name="WIN-PC01",
    fqdn="win-pc01.corp.contoso.com",
    platform="windows",
    domain_joined=True,
)


def cn(value: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, value)])


def attrs(name: x509.Name) -> list[list[tuple[str, str | bytes]]]:
    return [[(a.oid.dotted_string, a.value) for a in rdn] for rdn in name.rdns]


# --------------------------------------------------------------------------------------------------
# the variable catalogue

# (spelling as in the reference, RenderContext attribute, scope)
VARIABLE_TABLE = [
    ("{{UserName}}", "user_name", VariableScope.USER),
    ("{{EmailAddress}}", "email", VariableScope.USER),
    ("{{UserPrincipalName}}", "upn", VariableScope.USER),
    ("{{OnPrem_Distinguished_Name}}", "on_prem_distinguished_name", VariableScope.USER),
    ("{{onPremisesSamAccountName}}", "on_prem_sam_account_name", VariableScope.USER),
    ("{{OnPremisesSecurityIdentifier}}", "on_prem_sid", VariableScope.USER),
    ("{{OnPremisesUserPrincipalName}}", "on_prem_upn", VariableScope.USER),
    ("{{Department}}", "department", VariableScope.USER),
    ("{{AAD_Device_ID}}", "aad_device_id", VariableScope.DEVICE),
    ("{{AzureADDeviceId}}", "aad_device_id", VariableScope.DEVICE),
    ("{{DeviceId}}", "device_id", VariableScope.DEVICE),
    ("{{Device_Serial}}", "serial_number", VariableScope.DEVICE),
    ("{{SerialNumber}}", "serial_number", VariableScope.DEVICE),
    ("{{SERIALNUMBER}}", "serial_number", VariableScope.DEVICE),
    ("{{Device_IMEI}}", "imei", VariableScope.DEVICE),
    ("{{IMEINumber}}", "imei", VariableScope.DEVICE),
    ("{{IMEI}}", "imei", VariableScope.DEVICE),
    ("{{MEID}}", "meid", VariableScope.DEVICE),
    ("{{WiFiMacAddress}}", "wifi_mac", VariableScope.DEVICE),
    ("{{DeviceName}}", "device_name", VariableScope.DEVICE),
    ("{{FullyQualifiedDomainName}}", "fqdn", VariableScope.DEVICE),
]
SUBJECT_VARIABLES = [row for row in VARIABLE_TABLE if row[1] != "on_prem_sid"]
USER_VARIABLES = [row for row in VARIABLE_TABLE if row[2] is VariableScope.USER]
DEVICE_VARIABLES = [row for row in VARIABLE_TABLE if row[2] is VariableScope.DEVICE]


def test_catalogue_is_exactly_the_reference_list():
    expected = {placeholder.strip("{}").lower() for placeholder, _, _ in VARIABLE_TABLE}
    assert set(VARIABLES) == expected


@pytest.mark.parametrize(("placeholder", "attribute", "scope"), VARIABLE_TABLE)
def test_catalogue_entry(placeholder, attribute, scope):
    variable = lookup_variable(placeholder.strip("{}"))
    assert variable is not None
    assert variable.attribute == attribute
    assert variable.scope is scope


@pytest.mark.parametrize(("placeholder", "attribute", "scope"), SUBJECT_VARIABLES)
def test_every_subject_variable_renders_in_a_user_certificate(placeholder, attribute, scope):
    fmt = parse_subject_format(f'CN="{placeholder}"', certificate_type=USER)
    name = render_subject(fmt, FULL)
    assert attrs(name) == [[("2.5.4.3", getattr(FULL, attribute))]]


@pytest.mark.parametrize(("placeholder", "attribute", "scope"), DEVICE_VARIABLES)
def test_every_device_variable_renders_in_a_device_certificate(placeholder, attribute, scope):
    fmt = parse_subject_format(f"CN={placeholder}", certificate_type=DEVICE)
    assert attrs(render_subject(fmt, FULL)) == [[("2.5.4.3", getattr(FULL, attribute))]]


@pytest.mark.parametrize(("placeholder", "attribute", "scope"), USER_VARIABLES)
def test_user_variables_are_refused_in_a_device_certificate(placeholder, attribute, scope):
    with pytest.raises(TemplateError, match=r"user variable|URI subject alternative name"):
        parse_subject_format(f"CN={placeholder}", certificate_type=DEVICE)
    san_type = SanType.URI if attribute == "on_prem_sid" else SanType.UPN
    with pytest.raises(
        SanFormatError, match="user variable; a device certificate may only use device variables"
    ):
        parse_san_entries([(san_type, placeholder)], certificate_type=DEVICE)


@pytest.mark.parametrize(("placeholder", "attribute", "scope"), SUBJECT_VARIABLES)
@pytest.mark.parametrize("spelling", [str.lower, str.upper, str.swapcase])
def test_variable_names_are_case_insensitive(placeholder, attribute, scope, spelling):
    fmt = parse_subject_format(f'CN="{spelling(placeholder)}"', certificate_type=USER)
    assert render_subject(fmt, FULL).rdns[0].get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == getattr(
        FULL, attribute
    )


@pytest.mark.parametrize(("placeholder", "attribute", "scope"), SUBJECT_VARIABLES)
@pytest.mark.parametrize("empty", [None, "", "   "])
def test_missing_value_raises_missing_variable(placeholder, attribute, scope, empty):
    fmt = parse_subject_format(f"CN={placeholder}", certificate_type=USER)
    ctx = dataclasses.replace(FULL, **{attribute: empty})
    with pytest.raises(MissingVariable) as info:
        render_subject(fmt, ctx)
    message = str(info.value)
    canonical = lookup_variable(placeholder.strip("{}"))
    assert canonical is not None
    assert info.value.variable is canonical
    assert message.startswith(f"{scope} has no ")
    assert f"required by {canonical.placeholder} in the subject" in message
    assert isinstance(info.value, RenderError)


def test_missing_variable_message_reads_like_the_reference():
    fmt = parse_subject_format("CN={{IMEI}}", certificate_type=DEVICE)
    with pytest.raises(
        MissingVariable, match=r"^device has no IMEI, required by \{\{IMEI\}\} in the subject$"
    ):
        render_subject(fmt, RenderContext(device_name="x"))


@pytest.mark.parametrize(
    ("platform", "domain_joined", "fqdn", "expected"),
    [
        ("windows", True, "pc.corp.example", "pc.corp.example"),
        ("Windows10AndLater", True, "pc.corp.example", "pc.corp.example"),
        ("windows81AndLater", True, "pc.corp.example", "pc.corp.example"),
        ("windows", False, "pc.corp.example", None),
        ("macOS", True, "mac.corp.example", None),
        ("iOS", False, "phone.example", None),
        ("", True, "pc.corp.example", None),
        ("windows", True, None, None),
    ],
)
def test_fqdn_only_for_domain_joined_windows(platform, domain_joined, fqdn, expected):
    fmt = parse_subject_format("CN={{FullyQualifiedDomainName}}", certificate_type=DEVICE)
    ctx = RenderContext(platform=platform, domain_joined=domain_joined, fqdn=fqdn)
    if expected is None:
        with pytest.raises(MissingVariable, match=r"FullyQualifiedDomainName") as info:
            render_subject(fmt, ctx)
        if fqdn is not None:
            assert "only available for domain-joined Windows devices" in str(info.value)
    else:
        assert attrs(render_subject(fmt, ctx)) == [[("2.5.4.3", expected)]]


@pytest.mark.parametrize(
    ("value", "expected"),
    [("user", USER), ("device", DEVICE), ("USER", USER), ("Device", DEVICE), ("machine", DEVICE)],
)
def test_certificate_type_spellings(value, expected):
    assert CertificateType(value) is expected


@pytest.mark.parametrize("value", ["computer", "", 1, None])
def test_unknown_certificate_type(value):
    with pytest.raises(ValueError, match="is not a valid CertificateType"):
        parse_subject_format("CN=x", certificate_type=value)


def test_template_objects_describe_themselves():
    (template,) = parse_san_entries([(SanType.DNS, "{{DeviceName}}.example")], certificate_type=DEVICE)
    assert str(template) == "DNS:{{DeviceName}}.example"
    assert not template.value.is_static
    assert not template.is_sid_uri
    (static,) = parse_san_entries([(SanType.URI, "urn:x")], certificate_type=DEVICE)
    assert static.value.is_static
    assert not static.is_sid_uri


# --------------------------------------------------------------------------------------------------
# keys

KEY_TABLE = [
    ("CN", NameOID.COMMON_NAME, "Jane"),
    ("L", NameOID.LOCALITY_NAME, "Redmond"),
    ("O", NameOID.ORGANIZATION_NAME, "Contoso"),
    ("OU", NameOID.ORGANIZATIONAL_UNIT_NAME, "Mobile"),
    ("E", NameOID.EMAIL_ADDRESS, "jane@contoso.com"),
    ("EMAIL", NameOID.EMAIL_ADDRESS, "jane@contoso.com"),
    ("C", NameOID.COUNTRY_NAME, "US"),
    ("S", NameOID.STATE_OR_PROVINCE_NAME, "Washington"),
    ("ST", NameOID.STATE_OR_PROVINCE_NAME, "Washington"),
    ("STREET", NameOID.STREET_ADDRESS, "1 Microsoft Way"),
    ("T", NameOID.TITLE, "Engineer"),
    ("TITLE", NameOID.TITLE, "Engineer"),
    ("G", NameOID.GIVEN_NAME, "Jane"),
    ("GIVENNAME", NameOID.GIVEN_NAME, "Jane"),
    ("I", NameOID.INITIALS, "JD"),
    ("INITIALS", NameOID.INITIALS, "JD"),
    ("SN", NameOID.SURNAME, "Doe"),
    ("DC", NameOID.DOMAIN_COMPONENT, "contoso"),
    ("SERIALNUMBER", NameOID.SERIAL_NUMBER, "C02XK0AAJGH5"),
    ("1.2.3.4", x509.ObjectIdentifier("1.2.3.4"), "custom"),
    ("OID.2.5.4.17", NameOID.POSTAL_CODE, "98052"),
    ("0.9.2342.19200300.100.1.1", NameOID.USER_ID, "jdoe"),
]


@pytest.mark.parametrize(("key", "oid", "value"), KEY_TABLE)
@pytest.mark.parametrize("spelling", [str, str.lower])
def test_every_key(key, oid, value, spelling):
    fmt = parse_subject_format(f"{spelling(key)}={value}", certificate_type=DEVICE)
    assert fmt.rdns[0].attributes[0].oid == oid
    assert attrs(render_subject(fmt, RenderContext())) == [[(oid.dotted_string, value)]]


def test_sn_is_surname_not_serial_number():
    fmt = parse_subject_format("SN={{SerialNumber}}", certificate_type=DEVICE)
    assert fmt.rdns[0].attributes[0].oid == NameOID.SURNAME


def test_reference_example_format():
    text = "CN={{UserName}},E={{EmailAddress}},OU=Mobile,O=Finance Group,L=Redmond,ST=Washington,C=US"
    name = render_subject(parse_subject_format(text, certificate_type=USER), FULL)
    assert attrs(name) == [
        [("2.5.4.3", "janedoe@contoso.com")],
        [("1.2.840.113549.1.9.1", "jane.doe@contoso.com")],
        [("2.5.4.11", "Mobile")],
        [("2.5.4.10", "Finance Group")],
        [("2.5.4.7", "Redmond")],
        [("2.5.4.8", "Washington")],
        [("2.5.4.6", "US")],
    ]


def test_graph_example_format():
    text = (
        "CN={{EmailAddress}},E={{EmailAddress}},"
        "OU=Enterprise Users,O=Contoso Corporation,L=Redmond,ST=WA,C=US"
    )
    name = render_subject(parse_subject_format(text, certificate_type=USER), FULL)
    assert len(name.rdns) == 7
    assert name.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "jane.doe@contoso.com"


# --------------------------------------------------------------------------------------------------
# syntax: separators, quoting, whitespace, multi-valued RDNs

DC = "0.9.2342.19200300.100.1.25"

SYNTAX_TABLE = [
    ("CN=a", [[("2.5.4.3", "a")]]),
    ("CN=a,O=b", [[("2.5.4.3", "a")], [("2.5.4.10", "b")]]),
    ("CN=a;O=b", [[("2.5.4.3", "a")], [("2.5.4.10", "b")]]),
    ("CN=a;O=b,OU=c", [[("2.5.4.3", "a")], [("2.5.4.10", "b")], [("2.5.4.11", "c")]]),
    ("  CN  =  a b  ,  O =b  ", [[("2.5.4.3", "a b")], [("2.5.4.10", "b")]]),
    ("\tCN=a\n,O=b", [[("2.5.4.3", "a")], [("2.5.4.10", "b")]]),
    ('CN="a, b"', [[("2.5.4.3", "a, b")]]),
    ('CN="a; b=c + d"', [[("2.5.4.3", "a; b=c + d")]]),
    ('CN="say ""hi"""', [[("2.5.4.3", 'say "hi"')]]),
    ('CN=""""', [[("2.5.4.3", '"')]]),
    ('CN=" padded "', [[("2.5.4.3", " padded ")]]),
    ('CN = "a" , O = "b"', [[("2.5.4.3", "a")], [("2.5.4.10", "b")]]),
    ('CN="Test User (TestCompany, LLC)"', [[("2.5.4.3", "Test User (TestCompany, LLC)")]]),
    ("CN=a+OU=b", [[("2.5.4.3", "a"), ("2.5.4.11", "b")]]),
    ("CN=a + OU=b, O=c", [[("2.5.4.3", "a"), ("2.5.4.11", "b")], [("2.5.4.10", "c")]]),
    ("O=c,CN=a+OU=b+L=d", [[("2.5.4.10", "c")], [("2.5.4.3", "a"), ("2.5.4.11", "b"), ("2.5.4.7", "d")]]),
    ('CN="a+b"+OU="c,d"', [[("2.5.4.3", "a+b"), ("2.5.4.11", "c,d")]]),
    (
        "OU=a,OU=b,DC=corp,DC=contoso",
        [[("2.5.4.11", "a")], [("2.5.4.11", "b")], [(DC, "corp")], [(DC, "contoso")]],
    ),
    ("CN=it's (ok) / - . : ? ' &", [[("2.5.4.3", "it's (ok) / - . : ? ' &")]]),
    ("CN=Jürgen Größe", [[("2.5.4.3", "Jürgen Größe")]]),
    ("CN=#notahexvalue", [[("2.5.4.3", "#notahexvalue")]]),
]


@pytest.mark.parametrize(("text", "expected"), SYNTAX_TABLE)
def test_syntax(text, expected):
    fmt = parse_subject_format(text, certificate_type=DEVICE)
    name = render_subject(fmt, RenderContext())
    assert attrs(name) == expected
    assert len(name.rdns) == len(fmt.rdns)


@pytest.mark.parametrize("text", ["", "   ", "\n"])
def test_empty_format_is_not_configured(text):
    fmt = parse_subject_format(text, certificate_type=USER)
    assert fmt.rdns == ()
    assert render_subject(fmt, RenderContext()) == x509.Name([])


@pytest.mark.parametrize(
    ("text", "ctx", "expected"),
    [
        ("CN={{DeviceName}}text", RenderContext(device_name="PC1"), "PC1text"),
        ("CN = {{DeviceName}} text", RenderContext(device_name="PC1"), "PC1 text"),
        (
            "CN=pre-{{DeviceName}}-{{SerialNumber}}",
            RenderContext(device_name="PC1", serial_number="S9"),
            "pre-PC1-S9",
        ),
        (
            'CN="{{DeviceName}}, {{SerialNumber}}"',
            RenderContext(device_name="PC1", serial_number="S9"),
            "PC1, S9",
        ),
        ("CN={{DeviceName}}{{DeviceName}}", RenderContext(device_name="PC1"), "PC1PC1"),
    ],
)
def test_variables_with_static_text(text, ctx, expected):
    name = render_subject(parse_subject_format(text, certificate_type=DEVICE), ctx)
    assert attrs(name) == [[("2.5.4.3", expected)]]


def test_multi_valued_rdn_with_variables():
    fmt = parse_subject_format("CN={{UserName}}+E={{EmailAddress}},O=Contoso", certificate_type=USER)
    name = render_subject(fmt, FULL)
    assert len(name.rdns) == 2
    assert {(a.oid, a.value) for a in name.rdns[0]} == {
        (NameOID.COMMON_NAME, FULL.user_name),
        (NameOID.EMAIL_ADDRESS, FULL.email),
    }


def test_subject_format_str_round_trips():
    text = 'CN={{UserName}}+E={{EmailAddress}};O="Finance, ""Group""";OU=a'
    fmt = parse_subject_format(text, certificate_type=USER)
    again = parse_subject_format(str(fmt), certificate_type=USER)
    assert again.rdns == fmt.rdns
    assert fmt.variables == {lookup_variable("UserName"), lookup_variable("EmailAddress")}


# --------------------------------------------------------------------------------------------------
# subject format errors (messages are shown to the admin)

SUBJECT_ERRORS = [
    # curly brackets not enclosing a known variable
    ("CN={UserName}", "curly brackets not enclosing a variable", 4),
    ("CN={{UserName}", "curly brackets not enclosing a variable", 4),
    ("CN=a}", "curly brackets not enclosing a variable", 5),
    ("CN=a{b}c", "curly brackets not enclosing a variable", 5),
    ("CN={{{UserName}}}", "curly brackets not enclosing a variable", 4),
    ('CN="{x}"', "curly brackets not enclosing a variable", 5),
    ("CN={{}}", "unknown variable {{}}", 4),
    ("CN={{ UserName }}", "unknown variable {{ UserName }}", 4),
    # unknown variable (with a suggestion)
    ("CN={{Foo}}", "unknown variable {{Foo}} in the CN value", 4),
    ("CN={{UserNme}}", "did you mean {{UserName}}?", 4),
    ("CN=x,OU={{Dept}}", "unknown variable {{Dept}} in the OU value", 9),
    # unknown or malformed key
    ("X=1", 'unknown subject attribute key "X"', 1),
    ("CN=a,Common Name=b", 'unknown subject attribute key "Common Name"', 6),
    ("EMAILADDRESS=a@b", 'unknown subject attribute key "EMAILADDRESS"', 1),
    ("1.2.=x", '"1.2." is not a valid dotted OID', 1),
    ("1=x", '"1" is not a valid dotted OID', 1),
    ("3.1=x", '"3.1" is not a valid dotted OID', 1),
    ("1.40=x", '"1.40" is not a valid dotted OID', 1),
    ("1.02=x", '"1.02" is not a valid dotted OID', 1),
    ("OID.x=1", '"OID.x" is not a valid dotted OID', 1),
    ("=a", "missing attribute key before '='", 1),
    ("CN", '"CN" is not of the form KEY=value', 1),
    ("CN=a,O", '"O" is not of the form KEY=value', 6),
    # empty value
    ("CN=", "empty value for CN", 4),
    ("CN= ,O=x", "empty value for CN", 5),
    ('CN=""', "empty value for CN", 4),
    ('CN="   "', "empty value for CN", 4),
    ("CN=a,OU=", "empty value for OU", 9),
    # separators
    ("CN=a,", "the subject ends with ','", 5),
    ("CN=a+", "the subject ends with '+'", 5),
    ("CN=a,,O=b", "two separators in a row", 6),
    (",CN=a", "two separators in a row", 1),
    # quoting
    ('CN="abc', "the quoted CN value is not closed", 4),
    ('CN="a"b', "unexpected text after the closing quote of the CN value", 7),
    ('CN=a"b"', "must enclose the whole value", 5),
    ("CN=a=b", 'unquoted "=" in the CN value', 5),
    ("CN=a\\,b", "backslash escapes are not supported", 5),
    # variables that are not allowed in the subject
    ("CN={{OnPremisesSecurityIdentifier}}", "cannot be used in the subject", 4),
    ('CN="x {{onpremisessecurityidentifier}}"', "cannot be used in the subject", 4),
]


@pytest.mark.parametrize(("text", "message", "position"), SUBJECT_ERRORS)
def test_subject_errors(text, message, position):
    with pytest.raises(SubjectFormatError) as info:
        parse_subject_format(text, certificate_type=USER)
    assert message in str(info.value)
    assert info.value.position == position


def test_user_variable_in_device_format_names_the_variable():
    with pytest.raises(SubjectFormatError) as info:
        parse_subject_format("O=Contoso,CN={{DeviceName}}-{{UserName}}", certificate_type=DEVICE)
    assert str(info.value) == (
        "{{UserName}} in the CN value is a user variable; a device certificate may only use device variables"
    )
    assert info.value.position == 14


# --------------------------------------------------------------------------------------------------
# values cryptography (or RFC 5280) refuses -> RenderError, never a bare ValueError

RENDER_ERRORS = [
    ("C={{Department}}", "USA", "two-letter country code"),
    ("C={{Department}}", "U1", "two-letter country code"),
    ("C={{Department}}", "U", "two-letter country code"),
    ("CN={{UserName}}", "x" * 65, "65 characters long; at most 64"),
    ("O={{Department}}", "o" * 65, "at most 64"),
    ("OU={{Department}}", "o" * 65, "at most 64"),
    ("L={{Department}}", "l" * 129, "at most 128"),
    ("ST={{Department}}", "s" * 129, "at most 128"),
    ("T={{Department}}", "t" * 65, "at most 64"),
    ("E={{EmailAddress}}", "a" * 250 + "@b.com", "at most 255"),
    ("SERIALNUMBER={{Department}}", "s" * 65, "at most 64"),
    ("CN={{UserName}}", "a\x00b", "control character U+0000"),
    ("CN={{UserName}}", "line\nbreak", "control character U+000A"),
    ("CN={{UserName}}", "tab\there", "control character U+0009"),
    ("CN={{UserName}}", "del\x7f", "control character U+007F"),
    ("CN={{UserName}}", "c1\x85", "control character U+0085"),
    ("CN={{UserName}}", "bad\ud800", "unpaired surrogate U+D800"),
    ("E={{EmailAddress}}", "jürgen@contoso.com", "must be ASCII"),
    ("DC={{Department}}", "größe", "must be ASCII"),
    ("SERIALNUMBER={{Department}}", "VM_1234", "PrintableString"),
    ("SERIALNUMBER={{Department}}", "a@b", "PrintableString"),
    ("CN={{UserName}}+CN={{Department}}", "same", "two identical attributes"),
]


@pytest.mark.parametrize(("text", "value", "message"), RENDER_ERRORS)
def test_render_errors(text, value, message):
    fmt = parse_subject_format(text, certificate_type=USER)
    ctx = RenderContext(user_name=value, department=value, email=value)
    with pytest.raises(RenderError) as info:
        render_subject(fmt, ctx)
    assert message in str(info.value)
    assert not isinstance(info.value, MissingVariable)


def test_static_values_are_checked_too():
    with pytest.raises(RenderError, match="two-letter country code"):
        render_subject(parse_subject_format("C=USA", certificate_type=USER), RenderContext())


@pytest.mark.parametrize("value", ["x" * 64, "Ω" * 32, "Jürgen Größe"])
def test_cn_within_limits_is_fine(value):
    name = render_subject(
        parse_subject_format("CN={{UserName}}", certificate_type=USER), RenderContext(user_name=value)
    )
    assert name.rdns[0].get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == value


def test_cn_limit_is_64_utf8_bytes_as_cryptography_counts():
    fmt = parse_subject_format("CN={{UserName}}", certificate_type=USER)
    with pytest.raises(RenderError, match="66 bytes long in UTF-8; at most 64 bytes"):
        render_subject(fmt, RenderContext(user_name="Ω" * 33))


# --------------------------------------------------------------------------------------------------
# injection: hostile attribute values stay inside one attribute value

HOSTILE = [
    "Eve, CN=Administrator",
    "a+CN=b",
    "x;O=Evil",
    '"quoted"',
    "=",
    'a"b',
    '",CN=x,"',
    "CN=Jane Doe,OU=UserAccounts,DC=corp,DC=contoso,DC=com",
    "\\,CN=esc",
    "#3003020101",
    " leading and trailing ",
    "<script>&amp;</script>",
    "'single'",
    "a,,b;;c++d==e",
    "{{UserName}}",
    "{{OnPremisesSecurityIdentifier}}",
    "}{",
    "Ünïcödé, Ltd.",
]

# (format, RenderContext attribute that receives the hostile value, attribute whose value it becomes)
INJECTION_FORMATS = [
    ("CN={{UserName}}", "user_name", NameOID.COMMON_NAME),
    ('CN="{{UserName}}",O=Contoso', "user_name", NameOID.COMMON_NAME),
    ("CN={{OnPrem_Distinguished_Name}},O=Contoso,C=US", "on_prem_distinguished_name", NameOID.COMMON_NAME),
    ('CN="{{OnPrem_Distinguished_Name}}"', "on_prem_distinguished_name", NameOID.COMMON_NAME),
    ("OU={{Department}};O=Contoso", "department", NameOID.ORGANIZATIONAL_UNIT_NAME),
    ("CN={{onPremisesSamAccountName}}+OU={{Department}}", "on_prem_sam_account_name", NameOID.COMMON_NAME),
    ("CN={{DeviceName}},OU=Devices", "device_name", NameOID.COMMON_NAME),
    ("CN=x,G={{UserName}}", "user_name", NameOID.GIVEN_NAME),
]


@pytest.mark.parametrize("value", HOSTILE)
@pytest.mark.parametrize(("text", "attribute", "oid"), INJECTION_FORMATS)
def test_injection_stays_in_one_attribute(text, attribute, oid, value):
    fmt = parse_subject_format(text, certificate_type=USER)
    ctx = dataclasses.replace(FULL, **{attribute: value})
    name = render_subject(fmt, ctx)

    assert len(name.rdns) == len(fmt.rdns)
    assert [len(rdn) for rdn in name.rdns] == [len(rdn.attributes) for rdn in fmt.rdns]
    assert [a.value for a in name.get_attributes_for_oid(oid)] == [value]
    # the rendered name survives RFC 4514 both ways
    assert x509.Name.from_rfc4514_string(name.rfc4514_string()) == name
    # and our own CertStrToName output parses back to the same RDNs
    if "{" not in value and "}" not in value:
        again = render_subject(
            parse_subject_format(x500_subject_string(name), certificate_type=USER), RenderContext()
        )
        assert again == name
        assert canonical_subject(again) == canonical_subject(name)


@pytest.mark.parametrize("value", HOSTILE)
def test_injection_in_san_values_stays_in_one_name(value):
    templates = parse_san_entries([(SanType.UPN, "{{UserPrincipalName}}")], certificate_type=USER)
    upn = value.replace(" ", "").replace("@", "") + "@contoso.com"
    if not upn.split("@")[0]:
        upn = "x" + upn
    (rendered,) = render_sans(templates, RenderContext(upn=upn))
    assert upn_from_san(rendered) == upn


# --------------------------------------------------------------------------------------------------
# standard subject name formats


@pytest.mark.parametrize(
    ("choice", "certificate_type", "expected"),
    [
        (SubjectNameFormat.NOT_CONFIGURED, USER, ""),
        (SubjectNameFormat.NOT_CONFIGURED, DEVICE, ""),
        (SubjectNameFormat.COMMON_NAME, USER, "CN={{UserName}}"),
        (SubjectNameFormat.COMMON_NAME, DEVICE, "CN={{DeviceName}}"),
        (SubjectNameFormat.COMMON_NAME_INCLUDING_EMAIL, USER, "CN={{UserName}},E={{EmailAddress}}"),
        (SubjectNameFormat.COMMON_NAME_AS_EMAIL, USER, "CN={{EmailAddress}}"),
        (SubjectNameFormat.COMMON_NAME_AS_IMEI, USER, "CN={{IMEI}}"),
        (SubjectNameFormat.COMMON_NAME_AS_IMEI, DEVICE, "CN={{IMEI}}"),
        (SubjectNameFormat.COMMON_NAME_AS_SERIAL_NUMBER, USER, "CN={{SerialNumber}}"),
        (SubjectNameFormat.COMMON_NAME_AS_SERIAL_NUMBER, DEVICE, "CN={{SerialNumber}}"),
        (SubjectNameFormat.COMMON_NAME_AS_AAD_DEVICE_ID, DEVICE, "CN={{AAD_Device_ID}}"),
        (SubjectNameFormat.COMMON_NAME_AS_INTUNE_DEVICE_ID, DEVICE, "CN={{DeviceId}}"),
        ("commonNameAsIntuneDeviceId", "user", "CN={{DeviceId}}"),
    ],
)
def test_standard_formats(choice, certificate_type, expected):
    text = subject_format_for(choice, certificate_type=certificate_type)
    assert text == expected
    # every standard format parses and renders with a full context
    render_subject(parse_subject_format(text, certificate_type=certificate_type), FULL)


@pytest.mark.parametrize(
    "choice", [SubjectNameFormat.COMMON_NAME_INCLUDING_EMAIL, SubjectNameFormat.COMMON_NAME_AS_EMAIL]
)
def test_email_formats_need_a_user_certificate(choice):
    with pytest.raises(SubjectFormatError, match="only available for user certificates"):
        subject_format_for(choice, certificate_type=DEVICE)


def test_custom_format_is_returned_verbatim():
    custom = "CN={{UserName}},OU=Mobile"
    assert subject_format_for(SubjectNameFormat.CUSTOM, certificate_type=USER, custom=custom) == custom


@pytest.mark.parametrize(
    ("choice", "custom"), [("custom", ""), ("custom", "  "), ("commonNameAsDurableDeviceId", "")]
)
def test_bad_format_choices(choice, custom):
    with pytest.raises(SubjectFormatError):
        subject_format_for(choice, certificate_type=USER, custom=custom)


def test_choice_names_match_graph():
    assert {choice.value for choice in SubjectNameFormat} == {
        "notConfigured",
        "commonName",
        "commonNameIncludingEmail",
        "commonNameAsEmail",
        "commonNameAsIMEI",
        "commonNameAsSerialNumber",
        "commonNameAsAadDeviceId",
        "commonNameAsIntuneDeviceId",
        "custom",
    }


# --------------------------------------------------------------------------------------------------
# SAN templates

SAN_RENDER_TABLE = [
    (SanType.EMAIL, "{{EmailAddress}}", USER, x509.RFC822Name("jane.doe@contoso.com")),
    (SanType.EMAIL, "it@contoso.com", DEVICE, x509.RFC822Name("it@contoso.com")),
    (SanType.UPN, "{{UserPrincipalName}}", USER, x509.OtherName(UPN_OID, b"\x0c\x15jane@corp.contoso.com")),
    (
        SanType.UPN,
        "{{OnPremisesUserPrincipalName}}",
        USER,
        x509.OtherName(UPN_OID, b"\x0c\x17jdoe@corp.contoso.local"),
    ),
    (SanType.UPN, "{{UserName}}", USER, x509.OtherName(UPN_OID, b"\x0c\x13janedoe@contoso.com")),
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
    assert upn_from_san(name) == upn


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
    assert sid_san(sid) == x509.UniformResourceIdentifier(f"tag:microsoft.com,2022-09-14:sid:{expected}")


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
        upn_san("jane@contoso.com"),
        x509.OtherName(x509.ObjectIdentifier("1.2.3"), b"\x04\x01\x00"),
        x509.OtherName(UPN_OID, b"\x04\x01\x00"),
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
    assert canonical_sans([x509.RFC822Name("x@a.example")]) != canonical_sans([upn_san("x@a.example")])


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
    name = x509.OtherName(UPN_OID, value)
    assert upn_from_san(name) is None
    assert canonical_sans([name]) == (f"othername:1.3.6.1.4.1.311.20.2.3:{value.hex()}",)


def test_upn_long_form_length_decodes():
    upn = "x" * 300 + "@y"
    assert upn_from_san(x509.OtherName(UPN_OID, b"\x0c\x82\x01\x2e" + upn.encode())) == upn
    assert upn_from_san(x509.DNSName("a")) is None


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


# --------------------------------------------------------------------------------------------------
# CertStrToName output


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (cn("plain"), "CN=plain"),
        (cn("a, b"), 'CN="a, b"'),
        (cn('say "hi"'), 'CN="say ""hi"""'),
        (cn(" pad"), 'CN=" pad"'),
        (cn("a=b"), 'CN="a=b"'),
        (cn("a+b"), 'CN="a+b"'),
        (cn("a;b"), 'CN="a;b"'),
        (cn("#x"), 'CN="#x"'),
        (cn("<x>"), 'CN="<x>"'),
        (
            x509.Name(
                [
                    x509.NameAttribute(NameOID.COMMON_NAME, "c"),
                    x509.NameAttribute(NameOID.EMAIL_ADDRESS, "e@x"),
                    x509.NameAttribute(NameOID.STATE_OR_PROVINCE_NAME, "WA"),
                    x509.NameAttribute(NameOID.SERIAL_NUMBER, "123"),
                    x509.NameAttribute(NameOID.DOMAIN_COMPONENT, "corp"),
                    x509.NameAttribute(NameOID.SURNAME, "Doe"),
                    x509.NameAttribute(NameOID.POSTAL_CODE, "98052"),
                ]
            ),
            "CN=c, E=e@x, S=WA, 2.5.4.5=123, DC=corp, SN=Doe, 2.5.4.17=98052",
        ),
        (
            x509.Name(
                [
                    x509.RelativeDistinguishedName(
                        [
                            x509.NameAttribute(NameOID.COMMON_NAME, "a"),
                            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "b"),
                        ]
                    )
                ]
            ),
            "CN=a + O=b",
        ),
        (x509.Name([]), ""),
    ],
)
def test_x500_subject_string(name, expected):
    assert x500_subject_string(name) == expected
    if expected:
        assert (
            render_subject(parse_subject_format(expected, certificate_type=DEVICE), RenderContext()) == name
        )


def test_x500_subject_string_refuses_binary_values():
    name = x509.Name([x509.NameAttribute(NameOID.X500_UNIQUE_IDENTIFIER, b"\x01", _ASN1Type.BitString)])
    with pytest.raises(RenderError, match="binary value"):
        x500_subject_string(name)
