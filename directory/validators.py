"""Format checks of directory attributes that Django's field types do not know (SID, UPN, MAC address),
and the characters any directory text may hold.

Django validators (raise ``ValidationError``) set on the model fields, so that ``full_clean`` applies
them on every way into the directory: the services, the API serializers, the admin forms. The import
rows check them as well, before any database work (:mod:`directory.imports.rows`).

Directory attributes end up in certificate subjects, in XML device payloads (.mobileconfig, SyncML), in
HTTP headers and in PostgreSQL text columns. None of those can carry every code point, so the
directory refuses, at the door, what is not text:

* control characters (C0, DEL, C1): NUL, which PostgreSQL refuses in text, and CR/LF, which split a
  header or a log line; :func:`validate_text` (multi-line fields such as a group's description) allows
  tab, LF and CR;
* lone surrogates (U+D800 to U+DFFF, which a JSON escape can produce): not encodable as UTF-8;
* Unicode noncharacters (U+FDD0 to U+FDEF and the last two code points of every plane, U+FFFE, U+FFFF,
  U+1FFFE, ...): U+FFFE and U+FFFF are not allowed in XML at all, and none of them is meant for
  interchange;
* in single-line fields, the line and paragraph separators U+2028 and U+2029.
"""

from __future__ import annotations

import re
from typing import Final

from django.core.exceptions import ValidationError

from ca.crypto.identities import sid_is_valid, upn_is_valid

__all__ = [
    "validate_external_id",
    "validate_mac_address",
    "validate_sid",
    "validate_single_line_text",
    "validate_text",
    "validate_upn",
]

#: 00:11:22:aa:bb:cc, 00-11-22-AA-BB-CC, 001122AABBCC (as Intune reports wiFiMacAddress), 0011.22aa.bbcc.
_MAC_RE: Final = re.compile(
    r"[0-9A-Fa-f]{2}(?P<sep>[:-]?)[0-9A-Fa-f]{2}(?:(?P=sep)[0-9A-Fa-f]{2}){4}"
    r"|[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}"
)

_NONCHARACTERS: Final = "\ufdd0-\ufdef" + "".join(
    f"{chr(plane << 16 | 0xFFFE)}{chr(plane << 16 | 0xFFFF)}" for plane in range(17)
)
#: What no directory text may hold (see the module docstring).
_NOT_TEXT: Final = re.compile(f"[\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f-\\x9f\\ud800-\\udfff{_NONCHARACTERS}]")
#: What no single-line text may hold: that, and the line breaks.
_NOT_SINGLE_LINE: Final = re.compile(f"[\\x00-\\x1f\\x7f-\\x9f\\u2028\\u2029\\ud800-\\udfff{_NONCHARACTERS}]")


def _character_problem(char: str) -> str:
    code = ord(char)
    if 0xD800 <= code <= 0xDFFF:
        return "half of a UTF-16 surrogate pair, not a character"
    if code < 0x20 or 0x7F <= code <= 0x9F:
        return "a control character"
    if code in (0x2028, 0x2029):
        return "a line break"
    return "a Unicode noncharacter"


def _refuse(pattern: re.Pattern[str], value: str) -> None:
    match = pattern.search(value)
    if match is not None:
        char = match.group()
        raise ValidationError(
            "Remove U+%(code)04X at position %(position)d: it is %(problem)s, which the directory does "
            "not store (certificates and device payloads cannot carry it).",
            code="invalid_characters",
            params={"code": ord(char), "position": match.start() + 1, "problem": _character_problem(char)},
        )


def validate_single_line_text(value: str) -> None:
    """Text on one line: no control characters (tab, CR and LF included), line separators, lone
    surrogates or noncharacters.
    """
    _refuse(_NOT_SINGLE_LINE, value)


def validate_text(value: str) -> None:
    """Text that may span lines (tab, LF and CR allowed), without other control characters, lone
    surrogates or noncharacters.
    """
    _refuse(_NOT_TEXT, value)


def validate_external_id(value: str) -> None:
    """The key of a user, device or group: single-line text (no CR/LF or other control characters).

    A device's ``external_id`` becomes its payload identifiers and the name of its .mobileconfig file.
    """
    validate_single_line_text(value)


def validate_sid(value: str) -> None:
    """A Windows security identifier (SID) in canonical string form, e.g. ``S-1-5-21-1004336348-...-512``.

    The grammar is :func:`ca.crypto.identities.sid_is_valid`'s, so that the directory never stores a SID
    that the CA would refuse to put in a certificate.
    """
    if not sid_is_valid(value):
        raise ValidationError(
            "Enter a security identifier (SID) such as S-1-5-21-1004336348-1177238915-682003330-512.",
            code="invalid_sid",
        )


def validate_upn(value: str) -> None:
    """A user principal name ``name@domain``, with :func:`ca.crypto.identities.upn_is_valid`'s grammar (the
    one the CA and the profiles' UPN SANs use).
    """
    if not upn_is_valid(value):
        raise ValidationError(
            "Enter a user principal name such as jane@corp.example.com.", code="invalid_upn"
        )


def validate_mac_address(value: str) -> None:
    """A 48-bit MAC address written with ``:`` or ``-`` separators, without separators, or Cisco-dotted."""
    if _MAC_RE.fullmatch(value) is None:
        raise ValidationError(
            "Enter a MAC address such as 00:11:22:AA:BB:CC, 00-11-22-AA-BB-CC or 001122AABBCC.",
            code="invalid_mac_address",
        )
