r"""Subject name formats: Intune's choices, and the CertStrToName-style parser and renderer.

Pure functions over plain dataclasses and ``cryptography.x509`` objects (no Django, no ORM). An admin
saves a profile -> :func:`subject_format_for` picks the format text of the profile's choice and
:func:`parse_subject_format` validates it (every error is a :class:`SubjectFormatError` with a message
meant for the admin). When a device checks in -> :func:`render_subject` substitutes the user's and the
device's attributes (:class:`RenderContext`) and returns an ``x509.Name``.

Injection defence: the format is split into RDNs and attributes *before* any substitution, and a
variable's value only ever becomes (part of) one attribute value. A display name such as
``Eve, CN=Administrator`` therefore stays one CN; it can never add, remove or change RDNs.

Syntax (CertStrToName, as Intune documents it): RDNs are separated by ``,`` or ``;`` outside quotes,
``+`` joins the attributes of a multi-valued RDN, each attribute is ``KEY=value``, a value may be
enclosed in double quotes with ``""`` standing for one ``"``, and whitespace around keys and values is
ignored. Backslash is *not* an escape character (Intune: ``\,`` breaks challenge validation; quote the
value instead). RDNs keep the order in which they are written: the first one written is the first one
in the encoded ``Name`` (CertStrToName without ``CERT_NAME_STR_REVERSE_FLAG``, and Apple's ``Subject``
array; note that RFC 4514 strings are written the other way round). :func:`quote_value` is the quoting
half of the syntax, for code that writes such strings.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from typing import Final

from cryptography import x509
from cryptography.x509.oid import NameOID, ObjectIdentifier

from profiles.naming.variables import (
    CertificateType,
    RenderContext,
    RenderError,
    SubjectFormatError,
    ValueTemplate,
    Variable,
    check_characters,
    check_scope,
    parse_value_template,
    substitute,
)

__all__ = [
    "AttributeTemplate",
    "RdnTemplate",
    "SubjectFormat",
    "SubjectNameFormat",
    "parse_subject_format",
    "quote_value",
    "render_subject",
    "subject_format_for",
]


class SubjectNameFormat(enum.StrEnum):
    """Intune's subject name format choices (Graph ``subjectNameFormat`` / ``appleSubjectNameFormat``).

    The one definition: ``ScepProfile.subject_name_format`` takes its choices from the members and labels.
    """

    NOT_CONFIGURED = "notConfigured"
    COMMON_NAME = "commonName"
    COMMON_NAME_INCLUDING_EMAIL = "commonNameIncludingEmail"
    COMMON_NAME_AS_EMAIL = "commonNameAsEmail"
    COMMON_NAME_AS_IMEI = "commonNameAsIMEI"
    COMMON_NAME_AS_SERIAL_NUMBER = "commonNameAsSerialNumber"
    COMMON_NAME_AS_AAD_DEVICE_ID = "commonNameAsAadDeviceId"
    COMMON_NAME_AS_INTUNE_DEVICE_ID = "commonNameAsIntuneDeviceId"
    CUSTOM = "custom"

    @property
    def label(self) -> str:
        """The name the admin sees (the model field's choice label)."""
        return _LABELS[self]


_LABELS: Final[dict[SubjectNameFormat, str]] = {
    SubjectNameFormat.NOT_CONFIGURED: "Not configured",
    SubjectNameFormat.COMMON_NAME: "Common name",
    SubjectNameFormat.COMMON_NAME_INCLUDING_EMAIL: "Common name including email",
    SubjectNameFormat.COMMON_NAME_AS_EMAIL: "Common name as email",
    SubjectNameFormat.COMMON_NAME_AS_IMEI: "IMEI",
    SubjectNameFormat.COMMON_NAME_AS_SERIAL_NUMBER: "Serial number",
    SubjectNameFormat.COMMON_NAME_AS_AAD_DEVICE_ID: "Common name as Entra device ID",
    SubjectNameFormat.COMMON_NAME_AS_INTUNE_DEVICE_ID: "Common name as Intune device ID",
    SubjectNameFormat.CUSTOM: "Custom",
}

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

_QUOTE_TRIGGERS: Final = frozenset(',=+;"<>#\r\n')


def quote_value(value: str) -> str:
    """``value`` as it is written after ``KEY=``: double-quoted (``""`` for ``"``) when it is empty, has
    leading or trailing whitespace or any of ``, = + ; " < > #`` or a line break; else unchanged.
    (Intune: quote rather than backslash-escape.)
    """
    if not value or value != value.strip() or any(char in _QUOTE_TRIGGERS for char in value):
        return '"' + value.replace('"', '""') + '"'
    return value


@dataclass(frozen=True)
class AttributeTemplate:
    key: str  # as it will be named in messages: the upper-cased key or the dotted OID
    oid: ObjectIdentifier
    value: ValueTemplate

    def __str__(self) -> str:
        return f"{self.key}={quote_value(str(self.value))}"


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
