"""Subject alternative name templates: the SAN table of a profile, validated and rendered.

Pure functions over plain dataclasses and ``cryptography.x509`` objects (no Django, no ORM). An admin
saves a profile -> :func:`parse_san_entries` validates its SAN table (every error is a
:class:`SanFormatError` naming the entry). When a device checks in -> :func:`render_sans` substitutes
the user's and the device's attributes and returns ``x509.GeneralName`` objects.

The grammar of the identities themselves (user principal names, ``name@domain`` addresses, Windows
SIDs and the KB5014754 SID URI) is :mod:`ca.crypto.identities`: the CA checks the same names with the
same functions.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

from cryptography import x509

from ca.crypto.identities import SID_URI_PREFIX, address_parts, sid_normalize, sid_uri, upn_general_name
from profiles.naming.variables import (
    CertificateType,
    RenderContext,
    RenderError,
    SanFormatError,
    ValueTemplate,
    Variable,
    check_characters,
    check_scope,
    parse_value_template,
    substitute,
)

__all__ = ["SanTemplate", "SanType", "parse_san_entries", "render_sans", "validate_sid"]


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


def validate_sid(sid: str) -> str:
    """The canonical form of a Windows security identifier (``S-1-5-21-...``; a lower-case ``s`` is accepted).

    Raises:
        RenderError: not a SID (the grammar is :func:`ca.crypto.identities.sid_normalize`).
    """
    try:
        return sid_normalize(sid)
    except ValueError as exc:
        raise RenderError(str(exc)) from None


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


def _address(value: str, what: str) -> tuple[str, str]:
    parts = address_parts(value)
    if parts is None:
        raise RenderError(f"{what} {value!r} is not of the form name@domain")
    return parts


def _render_san(template: SanTemplate, ctx: RenderContext) -> x509.GeneralName:
    where = f"the {template.san_type.label} subject alternative name"
    value = substitute(template.value, ctx, where=where)
    check_characters(value, what=where)
    try:
        if template.san_type is SanType.EMAIL:
            _local, domain = _address(value, where)
            if not value.isascii():
                raise RenderError(f"{where} {value!r} must be ASCII")
            _dns_name(domain, f"the domain of {where}")
            return x509.RFC822Name(value)
        if template.san_type is SanType.UPN:
            _address(value, where)
            return upn_general_name(value)
        if template.san_type is SanType.DNS:
            return x509.DNSName(_dns_name(value, where))
        if template.is_sid_uri:
            return sid_uri(validate_sid(value))
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
