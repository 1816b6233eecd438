"""profiles.naming.variables: the catalogue, case, scope, missing values, certificate types."""

from __future__ import annotations

import dataclasses

import pytest

from cryptography.x509.oid import NameOID

from profiles.naming.sans import SanType, parse_san_entries
from profiles.naming.subject import (
    parse_subject_format,
    render_subject,
)
from profiles.naming.variables import (
    VARIABLES,
    CertificateType,
    MissingVariable,
    RenderContext,
    RenderError,
    SanFormatError,
    TemplateError,
    lookup_variable,
)
from profiles.tests.naming.samples import (
    DEVICE,
    DEVICE_VARIABLES,
    FULL,
    SUBJECT_VARIABLES,
    USER,
    USER_VARIABLES,
    VARIABLE_TABLE,
    attrs,
)

# --------------------------------------------------------------------------------------------------
# the variable catalogue


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


@pytest.mark.parametrize(
    ("placeholder", "attribute", "scope"), [row for row in USER_VARIABLES if row[1] != "on_prem_sid"]
)
def test_user_variables_are_refused_in_a_device_certificate(placeholder, attribute, scope):
    with pytest.raises(TemplateError, match=r"user variable|URI subject alternative name"):
        parse_subject_format(f"CN={placeholder}", certificate_type=DEVICE)
    with pytest.raises(
        SanFormatError, match="user variable; a device certificate may only use device variables"
    ):
        parse_san_entries([(SanType.UPN, placeholder)], certificate_type=DEVICE)


def test_the_sid_serves_a_device_certificate_too_as_the_devices_own():
    """A hybrid-joined Windows device's certificate maps to its computer account (KB5014754)."""
    (template,) = parse_san_entries(
        [(SanType.URI, "{{OnPremisesSecurityIdentifier}}")], certificate_type=DEVICE
    )
    assert template.is_sid_uri
    with pytest.raises(TemplateError, match="URI subject alternative name"):
        parse_subject_format("CN={{OnPremisesSecurityIdentifier}}", certificate_type=DEVICE)


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
