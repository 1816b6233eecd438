"""Validators of a SCEP service's static-challenge policy: the SAN types and the subject pattern.

The subject pattern is an administrator's regular expression matched against what a device sends, with
Python's backtracking ``re`` (no timeout). It is kept cheap by construction: at most
``SUBJECT_PATTERN_MAX_LENGTH`` characters, compiled when saved, no backreferences, no repeated group that
itself repeats or alternates (``(a+)+``, ``(a|aa)*``: exponential), at most
``SUBJECT_PATTERN_MAX_REPEATS`` repetitions (``*``, ``+``, ``{m,n}``; polynomial in their number), and the
subject it is matched against is at most ``STATIC_SUBJECT_MAX_LENGTH`` characters. The worst pattern found
that passes, ``CN=(.*a)?(.*a)?(.*a)?x``, takes about 0.4 s on the longest subject (a match fails there).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Final

from django.core.exceptions import ValidationError

from enrollment.choices import StaticSanType

__all__ = [
    "STATIC_SUBJECT_MAX_LENGTH",
    "SUBJECT_PATTERN_MAX_LENGTH",
    "SUBJECT_PATTERN_MAX_REPEATS",
    "static_san_types_default",
    "subject_pattern_problem",
    "validate_static_san_types",
    "validate_subject_pattern",
]

SUBJECT_PATTERN_MAX_LENGTH: Final = 200
SUBJECT_PATTERN_MAX_REPEATS: Final = 3
#: The longest subject (RFC 4514 string) a static-challenge request may ask for (what the pattern reads).
STATIC_SUBJECT_MAX_LENGTH: Final = 512

_QUANTIFIER: Final = re.compile(r"\{(\d*)(?:(,)(\d*))?\}")


def static_san_types_default() -> list[str]:
    """DNS names only: what a static challenge may put in a certificate unless the service says more."""
    return [StaticSanType.DNS.value]


def validate_static_san_types(value: Any) -> None:
    """A list of distinct StaticSanType values. A UPN is never one: no static challenge authorises it."""
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValidationError("a list of SAN types (dns, ip, email, uri)", code="san_types_not_a_list")
    if "upn" in value:
        raise ValidationError(
            "a static challenge never authorises a UPN: anyone who knows it could get a logon "
            "certificate for any account (ESC1); enroll users with one-time challenges from a SCEP profile",
            code="upn_not_allowed",
        )
    unknown = sorted(set(value) - set(StaticSanType.values))
    if unknown:
        raise ValidationError(
            f"unknown SAN type(s) {', '.join(unknown)}; choose from {', '.join(StaticSanType.values)}",
            code="san_type_unknown",
        )
    if len(set(value)) != len(value):
        raise ValidationError("each SAN type once", code="san_type_repeated")


@dataclass
class _Group:
    repeats: bool = False
    alternates: bool = False


def _class_end(pattern: str, start: int) -> int:
    """The index after the ``]`` that closes the character class opened at ``start``."""
    index = start + 1
    if pattern[index : index + 1] == "^":
        index += 1
    if pattern[index : index + 1] == "]":  # a leading ] is a literal
        index += 1
    while index < len(pattern) and pattern[index] != "]":
        index += 2 if pattern[index] == "\\" else 1
    return index + 1


def _quantifier(pattern: str, index: int) -> tuple[int, bool]:
    """``(length, repeats)`` of the quantifier at ``index`` (0: none); repeats: may match twice or more."""
    char = pattern[index : index + 1]
    if char in {"*", "+"}:
        return 1, True
    if char == "?":
        return 1, False
    match = _QUANTIFIER.match(pattern, index) if char == "{" else None
    if match is None or match.group(0) == "{}":
        return 0, False
    low, comma, high = match.group(1), match.group(2), match.group(3)
    upper = (high if comma else low) or ""
    return len(match.group(0)), upper == "" or int(upper) > 1


def subject_pattern_problem(pattern: str) -> str | None:
    """Why ``pattern`` cannot be a subject pattern, or None. See the module docstring for the rules."""
    if len(pattern) > SUBJECT_PATTERN_MAX_LENGTH:
        return f"at most {SUBJECT_PATTERN_MAX_LENGTH} characters"
    try:
        compiled = re.compile(pattern)
    except re.error as exc:
        return f"not a regular expression: {exc}"
    if compiled.flags & re.VERBOSE:
        return "verbose patterns ((?x)) are not supported"
    frames = [_Group()]
    repeats = 0
    index = 0
    while index < len(pattern):
        char = pattern[index]
        closed: _Group | None = None
        if char == "\\":
            if pattern[index + 1 : index + 2] in set("123456789"):
                return "backreferences are not allowed"
            index += 2
        elif char == "[":
            index = _class_end(pattern, index)
        elif char == "(":
            if pattern.startswith(("(?P=", "(?("), index):
                return "backreferences are not allowed"
            if pattern.startswith("(?#", index):
                index = pattern.index(")", index) + 1
                continue
            frames.append(_Group())
            index += 1
            continue
        elif char == ")":
            closed = frames.pop()
            index += 1
        else:
            if char == "|":
                frames[-1].alternates = True
            index += 1
        length, repeating = _quantifier(pattern, index)
        if length:
            if closed is not None and repeating and (closed.repeats or closed.alternates):
                return "a repeated group must not itself repeat or alternate (catastrophic backtracking)"
            frames[-1].repeats = True
            repeats += int(repeating)
            index += length
            if pattern[index : index + 1] in {"?", "+"}:  # lazy or possessive
                index += 1
        if closed is not None:
            frames[-1].repeats |= closed.repeats
            frames[-1].alternates |= closed.alternates
    if repeats > SUBJECT_PATTERN_MAX_REPEATS:
        return f"at most {SUBJECT_PATTERN_MAX_REPEATS} repetitions (*, +, {{m,n}})"
    return None


def validate_subject_pattern(value: str) -> None:
    problem = subject_pattern_problem(value)
    if problem is not None:
        raise ValidationError(f"subject pattern: {problem}", code="invalid_pattern")
