r"""Subject-name and SAN templates with Intune-style ``{{Variable}}`` placeholders.

Pure functions over plain dataclasses and ``cryptography.x509`` objects (no Django, no ORM).

Flow: an admin saves a profile -> :func:`parse_subject_format` / :func:`parse_san_entries` validate the
template (every error is a :class:`TemplateError` with a message meant for the admin). When a device
asks for a challenge -> :func:`render_subject` / :func:`render_sans` substitute the user's and the
device's attributes (:class:`RenderContext`) and return ``x509`` objects; :class:`RenderedRequest` adds
the canonical forms the challenge is bound to and that are compared with the device's CSR.

Subject injection defence: the format is split into RDNs and attributes *before* any substitution, and a
variable's value only ever becomes (part of) one attribute value. A display name such as
``Eve, CN=Administrator`` therefore stays one CN; it can never add, remove or change RDNs.

Subject syntax (CertStrToName, as Intune documents it): RDNs are separated by ``,`` or ``;`` outside
quotes, ``+`` joins the attributes of a multi-valued RDN, each attribute is ``KEY=value``, a value may be
enclosed in double quotes with ``""`` standing for one ``"``, and whitespace around keys and values is
ignored. Backslash is *not* an escape character (Intune: ``\,`` breaks challenge validation; quote the
value instead). RDNs keep the order in which they are written: the first one written is the first one
in the encoded ``Name`` (CertStrToName without ``CERT_NAME_STR_REVERSE_FLAG``, and Apple's ``Subject``
array; note that RFC 4514 strings are written the other way round).
"""

from __future__ import annotations

import dataclasses
import enum
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

from cryptography import x509
from cryptography.x509.oid import NameOID, ObjectIdentifier

from ca.crypto.identities import OID_UPN, upn_from_general_name, upn_general_name
from profiles.variables import (
    VARIABLES,
    CertificateType,
    MissingVariable,
    RenderContext,
    RenderError,
    SanFormatError,
    SubjectFormatError,
    TemplateError,
    ValueTemplate,
    Variable,
    VariableScope,
    check_characters,
    check_scope,
    lookup_variable,
    parse_value_template,
    substitute,
)

__all__ = [
    "SID_URI_PREFIX",
    "UPN_OID",
    "VARIABLES",
    "AttributeTemplate",
    "CertificateType",
    "MissingVariable",
    "RdnTemplate",
    "RenderContext",
    "RenderError",
    "RenderedRequest",
    "SanFormatError",
    "SanTemplate",
    "SanType",
    "SubjectFormat",
    "SubjectFormatError",
    "SubjectNameFormat",
    "TemplateError",
    "ValueTemplate",
    "Variable",
    "VariableScope",
    "canonical_sans",
    "canonical_subject",
    "lookup_variable",
    "parse_san_entries",
    "parse_subject_format",
    "render_request",
    "render_sans",
    "render_subject",
    "sid_san",
    "subject_format_for",
    "upn_from_san",
    "upn_san",
    "validate_sid",
    "x500_subject_string",
]

#: szOID_NT_PRINCIPAL_NAME: the otherName type of a Microsoft UPN subject alternative name.
UPN_OID: Final = OID_UPN
#: KB5014754 strong certificate mapping: the SID is carried as this URI SAN.
SID_URI_PREFIX: Final = "tag:microsoft.com,2022-09-14:sid:"


# --------------------------------------------------------------------------------------------------
# subject


class SubjectNameFormat(enum.StrEnum):
    """Intune's subject name format choices (Graph ``subjectNameFormat`` / ``appleSubjectNameFormat``)."""

    NOT_CONFIGURED = "notConfigured"
    COMMON_NAME = "commonName"
    COMMON_NAME_INCLUDING_EMAIL = "commonNameIncludingEmail"
    COMMON_NAME_AS_EMAIL = "commonNameAsEmail"
    COMMON_NAME_AS_IMEI = "commonNameAsIMEI"
    COMMON_NAME_AS_SERIAL_NUMBER = "commonNameAsSerialNumber"
    COMMON_NAME_AS_AAD_DEVICE_ID = "commonNameAsAadDeviceId"
    COMMON_NAME_AS_INTUNE_DEVICE_ID = "commonNameAsIntuneDeviceId"
    CUSTOM = "custom"


_STANDARD_FORMATS: Final[dict[SubjectNameFormat, str]] = {
    SubjectNameFormat.NOT_CONFIGURED: "",
    SubjectNameFormat.COMMON_NAME_INCLUDING_EMAIL: "CN={{UserName}},E={{EmailAddress}}",
    SubjectNameFormat.COMMON_NAME_AS_EMAIL: "CN={{EmailAddress}}",
    SubjectNameFormat.COMMON_NAME_AS_IMEI: "CN={{IMEI}}",
    SubjectNameFormat.COMMON_NAME_AS_SERIAL_NUMBER: "CN={{SerialNumber}}",
    SubjectNameFormat.COMMON_NAME_AS_AAD_DEVICE_ID: "CN={{AAD_Device_ID}}",
    SubjectNameFormat.COMMON_NAME_AS_INTUNE_DEVICE_ID: "CN={{DeviceId}}",
}


def subject_format_for(
    name_format: SubjectNameFormat | str,
    *,
    certificate_type: CertificateType | str,
    custom: str = "",
) -> str:
    """The CertStrToName-style format string for one of Intune's subject name format choices.

    ``commonName`` is ``CN={{UserName}}`` for a user certificate and ``CN={{DeviceName}}`` for a device
    certificate. Choices that need user variables raise :class:`SubjectFormatError` for a device
    certificate; ``custom`` returns ``custom`` unchanged (validate it with :func:`parse_subject_format`).
    """
    ctype = CertificateType(certificate_type)
    try:
        choice = SubjectNameFormat(name_format)
    except ValueError:
        raise SubjectFormatError(f'unknown subject name format "{name_format}"') from None
    if choice is SubjectNameFormat.CUSTOM:
        if not custom.strip():
            raise SubjectFormatError("the custom subject name format is empty")
        return custom
    if choice is SubjectNameFormat.COMMON_NAME:
        return "CN={{UserName}}" if ctype is CertificateType.USER else "CN={{DeviceName}}"
    text = _STANDARD_FORMATS[choice]
    try:
        parse_subject_format(text, certificate_type=ctype)
    except SubjectFormatError as exc:
        raise SubjectFormatError(
            f"the subject name format {choice.value} is only available for user certificates ({exc.message})"
        ) from None
    return text


# CertStrToName keys (Microsoft SDK, nf-wincrypt-certstrtonamea) plus SERIALNUMBER (2.5.4.5).
_KEYS: Final[dict[str, ObjectIdentifier]] = {
    "CN": NameOID.COMMON_NAME,
    "L": NameOID.LOCALITY_NAME,
    "O": NameOID.ORGANIZATION_NAME,
    "OU": NameOID.ORGANIZATIONAL_UNIT_NAME,
    "E": NameOID.EMAIL_ADDRESS,
    "EMAIL": NameOID.EMAIL_ADDRESS,
    "C": NameOID.COUNTRY_NAME,
    "S": NameOID.STATE_OR_PROVINCE_NAME,
    "ST": NameOID.STATE_OR_PROVINCE_NAME,
    "STREET": NameOID.STREET_ADDRESS,
    "T": NameOID.TITLE,
    "TITLE": NameOID.TITLE,
    "G": NameOID.GIVEN_NAME,
    "GIVENNAME": NameOID.GIVEN_NAME,
    "I": NameOID.INITIALS,
    "INITIALS": NameOID.INITIALS,
    "SN": NameOID.SURNAME,
    "DC": NameOID.DOMAIN_COMPONENT,
    "SERIALNUMBER": NameOID.SERIAL_NUMBER,
}

# Key written by x500_subject_string. Only keys of the CertStrToName table; anything else (including
# serialNumber, whose CertStrToName key is unverified) is written as a dotted OID, which it accepts.
_X500_KEYS: Final[dict[ObjectIdentifier, str]] = {
    NameOID.COMMON_NAME: "CN",
    NameOID.LOCALITY_NAME: "L",
    NameOID.ORGANIZATION_NAME: "O",
    NameOID.ORGANIZATIONAL_UNIT_NAME: "OU",
    NameOID.EMAIL_ADDRESS: "E",
    NameOID.COUNTRY_NAME: "C",
    NameOID.STATE_OR_PROVINCE_NAME: "S",
    NameOID.STREET_ADDRESS: "STREET",
    NameOID.TITLE: "T",
    NameOID.GIVEN_NAME: "G",
    NameOID.INITIALS: "I",
    NameOID.SURNAME: "SN",
    NameOID.DOMAIN_COMPONENT: "DC",
}

# RFC 5280 appendix A upper bounds (characters).
_MAX_LENGTH: Final[dict[ObjectIdentifier, int]] = {
    NameOID.COMMON_NAME: 64,
    NameOID.LOCALITY_NAME: 128,
    NameOID.STATE_OR_PROVINCE_NAME: 128,
    NameOID.ORGANIZATION_NAME: 64,
    NameOID.ORGANIZATIONAL_UNIT_NAME: 64,
    NameOID.TITLE: 64,
    NameOID.SERIAL_NUMBER: 64,
    NameOID.EMAIL_ADDRESS: 255,
}
# Attributes cryptography encodes as IA5String / PrintableString by default.
_IA5_ATTRIBUTES: Final = frozenset({NameOID.EMAIL_ADDRESS, NameOID.DOMAIN_COMPONENT})
_PRINTABLE_ATTRIBUTES: Final = frozenset({NameOID.COUNTRY_NAME, NameOID.SERIAL_NUMBER})
_PRINTABLE_RE: Final = re.compile(r"[A-Za-z0-9 '()+,\-./:=?]*")
_OID_RE: Final = re.compile(r"[0-2](?:\.(?:0|[1-9][0-9]*))+")

_X500_QUOTE_TRIGGERS: Final = frozenset(',=+;"<>#\r\n')


def _x500_value(value: str) -> str:
    if not value or value != value.strip() or any(char in _X500_QUOTE_TRIGGERS for char in value):
        return '"' + value.replace('"', '""') + '"'
    return value


@dataclass(frozen=True)
class AttributeTemplate:
    key: str  # as it will be named in messages: the upper-cased key or the dotted OID
    oid: ObjectIdentifier
    value: ValueTemplate

    def __str__(self) -> str:
        return f"{self.key}={_x500_value(str(self.value))}"


@dataclass(frozen=True)
class RdnTemplate:
    attributes: tuple[AttributeTemplate, ...]

    def __str__(self) -> str:
        return "+".join(str(attribute) for attribute in self.attributes)


@dataclass(frozen=True)
class SubjectFormat:
    """A parsed subject name format: RDN structure fixed, values still templates."""

    rdns: tuple[RdnTemplate, ...]
    certificate_type: CertificateType
    source: str = ""

    @property
    def variables(self) -> frozenset[Variable]:
        return frozenset(
            variable
            for rdn in self.rdns
            for attribute in rdn.attributes
            for variable in attribute.value.variables
        )

    def __str__(self) -> str:
        return ",".join(str(rdn) for rdn in self.rdns)


class _SubjectParser:
    def __init__(self, text: str, certificate_type: CertificateType) -> None:
        self.text = text
        self.certificate_type = certificate_type
        self.pos = 0

    def error(self, message: str, position: int | None = None) -> SubjectFormatError:
        return SubjectFormatError(message, position=(self.pos if position is None else position) + 1)

    def skip_whitespace(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def parse(self) -> tuple[RdnTemplate, ...]:
        rdns: list[RdnTemplate] = []
        current: list[AttributeTemplate] = []
        while True:
            current.append(self.attribute())
            self.skip_whitespace()
            if self.pos >= len(self.text):
                break
            separator = self.text[self.pos]
            self.pos += 1
            if separator != "+":
                rdns.append(RdnTemplate(tuple(current)))
                current = []
        rdns.append(RdnTemplate(tuple(current)))
        return tuple(rdns)

    def attribute(self) -> AttributeTemplate:
        self.skip_whitespace()
        start = self.pos
        if start >= len(self.text):
            previous = self.text[start - 1]
            raise self.error(f"the subject ends with '{previous}'; an attribute must follow it", start - 1)
        while self.pos < len(self.text) and self.text[self.pos] not in '=,;+"':
            self.pos += 1
        key_text = self.text[start : self.pos].strip()
        if self.pos >= len(self.text) or self.text[self.pos] != "=":
            if not key_text:
                raise self.error(f"empty attribute at position {start + 1} (two separators in a row?)", start)
            raise self.error(f'"{key_text}" is not of the form KEY=value', start)
        if not key_text:
            raise self.error("missing attribute key before '='", self.pos)
        key, oid = self.key(key_text, start)
        self.pos += 1  # '='
        self.skip_whitespace()
        value_start = self.pos
        if self.pos < len(self.text) and self.text[self.pos] == '"':
            value = self.quoted_value(key)
            value_offset = value_start + 1
        else:
            value = self.unquoted_value(key)
            value_offset = value_start
        if not value.strip():
            raise self.error(f"empty value for {key}", value_start)
        where = f"the {key} value"
        template = parse_value_template(
            value, where=where, forbidden="", error=SubjectFormatError, offset=value_offset
        )
        for variable in template.variables:
            if not variable.subject_allowed:
                raise self.error(
                    f"{variable.placeholder} cannot be used in the subject; it is only allowed as a URI "
                    "subject alternative name",
                    value_start,
                )
        check_scope(
            template, self.certificate_type, where=where, error=SubjectFormatError, position=value_start + 1
        )
        return AttributeTemplate(key=key, oid=oid, value=template)

    def key(self, key_text: str, start: int) -> tuple[str, ObjectIdentifier]:
        upper = key_text.upper()
        dotted = key_text[4:] if upper.startswith("OID.") else key_text if key_text[0].isdigit() else None
        if dotted is not None:
            if not _OID_RE.fullmatch(dotted):
                raise self.error(f'"{key_text}" is not a valid dotted OID', start)
            try:
                return dotted, ObjectIdentifier(dotted)
            except ValueError:
                raise self.error(f'"{key_text}" is not a valid dotted OID', start) from None
        oid = _KEYS.get(upper)
        if oid is None:
            known = ", ".join(_KEYS)
            raise self.error(
                f'unknown subject attribute key "{key_text}" (known keys: {known}, or a dotted OID)', start
            )
        return upper, oid

    def quoted_value(self, key: str) -> str:
        opening = self.pos
        self.pos += 1
        chars: list[str] = []
        while True:
            if self.pos >= len(self.text):
                raise self.error(
                    f"the quoted {key} value is not closed (opening quote at position {opening + 1})", opening
                )
            char = self.text[self.pos]
            if char == '"':
                if self.text[self.pos + 1 : self.pos + 2] == '"':
                    chars.append('"')
                    self.pos += 2
                    continue
                self.pos += 1
                break
            chars.append(char)
            self.pos += 1
        self.skip_whitespace()
        if self.pos < len(self.text) and self.text[self.pos] not in ",;+":
            raise self.error(f"unexpected text after the closing quote of the {key} value")
        return "".join(chars)

    def unquoted_value(self, key: str) -> str:
        start = self.pos
        while self.pos < len(self.text) and self.text[self.pos] not in ",;+":
            char = self.text[self.pos]
            if char == '"':
                raise self.error(
                    f'a quote in the {key} value must enclose the whole value, as in {key}="..."'
                )
            if char == "=":
                raise self.error(f'unquoted "=" in the {key} value; put the value in double quotes')
            self.pos += 1
        value = self.text[start : self.pos].rstrip()
        if value.endswith("\\") and self.pos < len(self.text):
            raise self.error(
                f"backslash escapes are not supported in the {key} value; "
                "put the value in double quotes instead",
                self.pos - 1,
            )
        return value


def parse_subject_format(text: str, *, certificate_type: CertificateType | str) -> SubjectFormat:
    """Parse a CertStrToName-style subject format into RDN templates (before any substitution).

    An empty (or blank) text is the "not configured" subject: no RDNs.

    Raises:
        SubjectFormatError: with a message naming the offending piece.
    """
    ctype = CertificateType(certificate_type)
    if not text.strip():
        return SubjectFormat(rdns=(), certificate_type=ctype, source=text)
    rdns = _SubjectParser(text, ctype).parse()
    return SubjectFormat(rdns=rdns, certificate_type=ctype, source=text)


def _check_attribute_value(attribute: AttributeTemplate, value: str) -> None:
    # cryptography limits the CN to 64 UTF-8 *bytes* (RFC 5280 says 64 characters).
    maximum_cn_bytes = 64
    what = f"the {attribute.key} value"
    check_characters(value, what=what)
    maximum = _MAX_LENGTH.get(attribute.oid)
    if maximum is not None and len(value) > maximum:
        raise RenderError(f"{what} is {len(value)} characters long; at most {maximum} are allowed: {value!r}")
    size = len(value.encode("utf-8"))
    if attribute.oid == NameOID.COMMON_NAME and size > maximum_cn_bytes:
        raise RenderError(
            f"{what} is {size} bytes long in UTF-8; at most {maximum_cn_bytes} bytes are accepted: {value!r}"
        )
    if attribute.oid == NameOID.COUNTRY_NAME and not re.fullmatch(r"[A-Za-z]{2}", value):
        raise RenderError(f"{what} must be a two-letter country code (ISO 3166), got {value!r}")
    if attribute.oid in _IA5_ATTRIBUTES and not value.isascii():
        raise RenderError(f"{what} must be ASCII (it is encoded as an IA5String): {value!r}")
    if attribute.oid in _PRINTABLE_ATTRIBUTES and not _PRINTABLE_RE.fullmatch(value):
        raise RenderError(
            f"{what} may only contain letters, digits, spaces and ' ( ) + , - . / : = ? "
            f"(it is encoded as a PrintableString): {value!r}"
        )


def _render_attribute(attribute: AttributeTemplate, ctx: RenderContext) -> x509.NameAttribute[str]:
    value = substitute(attribute.value, ctx, where="the subject")
    _check_attribute_value(attribute, value)
    try:
        return x509.NameAttribute(attribute.oid, value)
    except ValueError as exc:
        raise RenderError(f"the {attribute.key} value {value!r} is not accepted: {exc}") from exc


def render_subject(fmt: SubjectFormat, ctx: RenderContext) -> x509.Name:
    """Substitute ``ctx`` into the parsed format; the result has exactly ``len(fmt.rdns)`` RDNs.

    Raises:
        MissingVariable: the context lacks a value a variable needs.
        RenderError: a value is unusable (control character, too long, bad country code, ...).
    """
    rdns: list[x509.RelativeDistinguishedName] = []
    for rdn in fmt.rdns:
        attributes = [_render_attribute(attribute, ctx) for attribute in rdn.attributes]
        try:
            rdns.append(x509.RelativeDistinguishedName(attributes))
        except ValueError as exc:
            raise RenderError(f"the multi-valued RDN {rdn} renders two identical attributes") from exc
    return x509.Name(rdns)


# --------------------------------------------------------------------------------------------------
# subject alternative names


class SanType(enum.IntEnum):
    """SAN attribute types, valued as Graph's ``subjectAlternativeNameType`` flags."""

    EMAIL = 1
    UPN = 2
    DNS = 8
    URI = 16

    @property
    def label(self) -> str:
        return {1: "email", 2: "UPN", 8: "DNS", 16: "URI"}[self.value]


@dataclass(frozen=True)
class SanTemplate:
    san_type: SanType
    value: ValueTemplate

    @property
    def is_sid_uri(self) -> bool:
        """True for the URI entry that is exactly ``{{OnPremisesSecurityIdentifier}}``."""
        return (
            self.san_type is SanType.URI
            and len(self.value.parts) == 1
            and isinstance(self.value.parts[0], Variable)
            and self.value.parts[0].uri_only
        )

    def __str__(self) -> str:
        return f"{self.san_type.label}:{self.value}"


def parse_san_entries(
    entries: Sequence[tuple[SanType | int, str]],
    *,
    certificate_type: CertificateType | str,
) -> tuple[SanTemplate, ...]:
    """Validate the SAN table of a profile.

    In the static text ``{``, ``}``, ``|`` and ``;`` are errors (Intune: they "don't work");
    ``{{OnPremisesSecurityIdentifier}}`` must be the whole value of a URI entry.

    Raises:
        SanFormatError: with a message naming the entry.
    """
    ctype = CertificateType(certificate_type)
    templates: list[SanTemplate] = []
    for number, (raw_type, text) in enumerate(entries, start=1):
        try:
            san_type = SanType(raw_type)
        except ValueError:
            raise SanFormatError(
                f"unknown subject alternative name type {raw_type!r} (entry {number})"
            ) from None
        where = f"the {san_type.label} subject alternative name (entry {number})"
        value = text.strip()
        if not value:
            raise SanFormatError(f"empty value for {where}")
        template = parse_value_template(value, where=where, forbidden="|;", error=SanFormatError, offset=None)
        check_scope(template, ctype, where=where, error=SanFormatError)
        for variable in template.variables:
            if variable.uri_only and san_type is not SanType.URI:
                raise SanFormatError(
                    f"{variable.placeholder} can only be used in a URI subject alternative name, "
                    f"not in {where}"
                )
            if variable.uri_only and template.parts != (variable,):
                raise SanFormatError(
                    f"{variable.placeholder} must be the whole value of {where} "
                    f"(it is rendered as {SID_URI_PREFIX}<SID>)"
                )
        templates.append(SanTemplate(san_type=san_type, value=template))
    return tuple(templates)


_SID_RE: Final = re.compile(r"[Ss]-1-([0-9]{1,15})((?:-[0-9]{1,10}){1,15})")


def validate_sid(sid: str) -> str:
    """Check a Windows security identifier (``S-1-5-21-...``) and return it with an upper-case ``S``.

    Raises:
        RenderError: not a SID.
    """
    match = _SID_RE.fullmatch(sid)
    if match is None:
        raise RenderError(f"{sid!r} is not a Windows security identifier (expected S-1-<authority>-<sub>...)")
    if int(match.group(1)) >= 1 << 48 or any(int(sub) >= 1 << 32 for sub in match.group(2)[1:].split("-")):
        raise RenderError(f"{sid!r} is not a Windows security identifier (a component is out of range)")
    return "S" + sid[1:]


def sid_san(sid: str) -> x509.UniformResourceIdentifier:
    """The KB5014754 strong-mapping SAN: ``tag:microsoft.com,2022-09-14:sid:<SID>``."""
    return x509.UniformResourceIdentifier(SID_URI_PREFIX + validate_sid(sid))


_DNS_LABEL_RE: Final = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")
_URI_SCHEME_RE: Final = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:.+", re.DOTALL)


def _dns_name(value: str, what: str) -> str:
    name = value.lower()
    if not name.isascii():
        raise RenderError(
            f"{what} {value!r} is not an ASCII DNS name (internationalised names are not supported)"
        )
    if len(name) > 253 or not all(_DNS_LABEL_RE.fullmatch(label) for label in name.split(".")):
        raise RenderError(f"{what} {value!r} is not a valid DNS name")
    return name


def _check_address(value: str, what: str) -> tuple[str, str]:
    local, at, domain = value.partition("@")
    if not at or not local or not domain or "@" in domain or any(char.isspace() for char in value):
        raise RenderError(f"{what} {value!r} is not of the form name@domain")
    return local, domain


def upn_san(upn: str) -> x509.OtherName:
    """A Microsoft UPN subject alternative name: otherName 1.3.6.1.4.1.311.20.2.3 holding a UTF8String."""
    return upn_general_name(upn)


def upn_from_san(name: x509.GeneralName) -> str | None:
    """The UPN carried by ``name``, or None if it is not a (well-formed) UPN otherName."""
    return upn_from_general_name(name)


def _render_san(template: SanTemplate, ctx: RenderContext) -> x509.GeneralName:
    where = f"the {template.san_type.label} subject alternative name"
    value = substitute(template.value, ctx, where=where)
    check_characters(value, what=where)
    try:
        if template.san_type is SanType.EMAIL:
            _local, domain = _check_address(value, where)
            if not value.isascii():
                raise RenderError(f"{where} {value!r} must be ASCII")
            _dns_name(domain, f"the domain of {where}")
            return x509.RFC822Name(value)
        if template.san_type is SanType.UPN:
            _check_address(value, where)
            return upn_san(value)
        if template.san_type is SanType.DNS:
            return x509.DNSName(_dns_name(value, where))
        if template.is_sid_uri:
            return sid_san(value)
        if (
            not value.isascii()
            or any(char.isspace() for char in value)
            or not _URI_SCHEME_RE.fullmatch(value)
        ):
            raise RenderError(f"{where} {value!r} is not an absolute ASCII URI (scheme:...)")
        return x509.UniformResourceIdentifier(value)
    except ValueError as exc:  # cryptography refused the value
        raise RenderError(f"{where} {value!r} is not accepted: {exc}") from exc


def render_sans(templates: Iterable[SanTemplate], ctx: RenderContext) -> list[x509.GeneralName]:
    """Render SAN templates, in order.

    EMAIL -> RFC822Name, UPN -> OtherName(UPN, UTF8String), DNS -> DNSName (validated, lower-cased),
    URI -> UniformResourceIdentifier (``{{OnPremisesSecurityIdentifier}}`` -> the KB5014754 SID URI).

    Raises:
        MissingVariable: the context lacks a value a variable needs.
        RenderError: the rendered value is not a valid name of its type.
    """
    return [_render_san(template, ctx) for template in templates]


# --------------------------------------------------------------------------------------------------
# canonical forms


_CANONICAL_SPECIAL: Final = frozenset('\\,+="<>;#')


def _canonical_value(value: str | bytes) -> str:
    if isinstance(value, bytes):
        return "#" + value.hex()
    out: list[str] = []
    for char in value:
        if char in _CANONICAL_SPECIAL or ord(char) < 0x20 or ord(char) == 0x7F:
            out.extend(f"\\{byte:02X}" for byte in char.encode("utf-8"))
        else:
            out.append(char)
    return "".join(out)


def canonical_subject(name: x509.Name) -> str:
    r"""A stable, encoding-independent string for ``name``.

    ``<dotted-oid>=<value>`` per attribute, attributes of a multi-valued RDN sorted and joined with ``+``,
    RDNs joined with ``,`` in their encoded order. Specials and control characters are ``\XX``-escaped, so
    the form is unambiguous. The ASN.1 string type (PrintableString, UTF8String, IA5String, ...) is
    ignored; case and whitespace are significant.
    """
    rdns: list[str] = []
    for rdn in name.rdns:
        attributes = sorted(
            (attribute.oid.dotted_string, _canonical_value(attribute.value)) for attribute in rdn
        )
        rdns.append("+".join(f"{oid}={value}" for oid, value in attributes))
    return ",".join(rdns)


def _canonical_general_name(name: x509.GeneralName) -> str:
    if isinstance(name, x509.RFC822Name):
        return f"email:{name.value}"
    if isinstance(name, x509.DNSName):
        return f"dns:{name.value.lower()}"
    if isinstance(name, x509.UniformResourceIdentifier):
        return f"uri:{name.value}"
    if isinstance(name, x509.OtherName):
        upn = upn_from_san(name)
        if upn is not None:
            return f"upn:{upn}"
        return f"othername:{name.type_id.dotted_string}:{name.value.hex()}"
    if isinstance(name, x509.IPAddress):
        return f"ip:{name.value}"
    if isinstance(name, x509.DirectoryName):
        return f"dirname:{canonical_subject(name.value)}"
    if isinstance(name, x509.RegisteredID):
        return f"rid:{name.value.dotted_string}"
    raise TypeError(f"unsupported general name {name!r}")  # pragma: no cover


def canonical_sans(names: Iterable[x509.GeneralName]) -> tuple[str, ...]:
    """Sorted, type-tagged strings (``dns:``, ``email:``, ``upn:``, ``uri:``, ...); DNS names lower-cased."""
    return tuple(sorted(_canonical_general_name(name) for name in names))


@dataclass(frozen=True)
class RenderedRequest:
    """What a device is expected to ask for: the rendered subject and SANs plus their canonical forms."""

    subject: x509.Name
    sans: tuple[x509.GeneralName, ...]
    canonical_subject: str = dataclasses.field(init=False)
    canonical_sans: tuple[str, ...] = dataclasses.field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "sans", tuple(self.sans))
        object.__setattr__(self, "canonical_subject", canonical_subject(self.subject))
        object.__setattr__(self, "canonical_sans", canonical_sans(self.sans))

    def matches(self, subject: x509.Name, sans: Iterable[x509.GeneralName]) -> bool:
        """True when ``subject``/``sans`` (e.g. from a CSR) are exactly this request, encoding aside."""
        return (
            canonical_subject(subject) == self.canonical_subject
            and canonical_sans(sans) == self.canonical_sans
        )


def render_request(
    fmt: SubjectFormat, san_templates: Iterable[SanTemplate], ctx: RenderContext
) -> RenderedRequest:
    """Render subject and SANs together."""
    return RenderedRequest(subject=render_subject(fmt, ctx), sans=tuple(render_sans(san_templates, ctx)))


# --------------------------------------------------------------------------------------------------
# X.500 string (CertStrToName syntax) for devices that build their own request (Windows SubjectName)


def x500_subject_string(name: x509.Name) -> str:
    """``name`` as a CertStrToName string (``CN=x, OU="a, b"``), RDNs in encoded order.

    Values with leading/trailing whitespace or any of ``, = + ; " < > #`` are double-quoted with ``""``
    escapes (Intune: quote rather than backslash-escape). Parsing the result with
    :func:`parse_subject_format` gives back the same RDNs (as long as it has no curly brackets).
    """
    rdns: list[str] = []
    for rdn in name.rdns:
        attributes: list[str] = []
        for attribute in rdn:
            if not isinstance(attribute.value, str):
                raise RenderError(f"attribute {attribute.oid.dotted_string} has a binary value")
            key = _X500_KEYS.get(attribute.oid, attribute.oid.dotted_string)
            attributes.append(f"{key}={_x500_value(attribute.value)}")
        rdns.append(" + ".join(attributes))
    return ", ".join(rdns)
