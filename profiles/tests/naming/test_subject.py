"""profiles.naming.subject: keys, syntax, quoting, errors, values refused, injection, standard formats."""

from __future__ import annotations

import dataclasses

import pytest

from cryptography import x509
from cryptography.x509.oid import NameOID

from ca.crypto.canonical import canonical_subject
from profiles.exports.x500 import x500_subject_string
from profiles.naming.subject import (
    SubjectNameFormat,
    parse_subject_format,
    render_subject,
    subject_format_for,
)
from profiles.naming.variables import (
    MissingVariable,
    RenderContext,
    RenderError,
    SubjectFormatError,
    lookup_variable,
)
from profiles.tests.naming.samples import (
    DEVICE,
    FULL,
    HOSTILE,
    USER,
    attrs,
)

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
