"""How one cell of an import file is read: DRF fields for text, booleans, choices and member lists. Pure.

A cell is what a CSV file holds as a string and a JSON file as a string, number, boolean, null or (for
``members``) a list; any other JSON value (an object, a list elsewhere, a fraction) is refused, and so is
text that holds what the directory does not store (control characters, NUL included, lone surrogates,
noncharacters: :mod:`directory.validators`). What an empty cell means depends on the kind of field (see
:mod:`directory.imports`):

* :class:`TextCell`: an empty cell (or JSON null) is the empty string, so it clears the field; format
  validators run only on a value that is not empty.
* :class:`BooleanCell`, :class:`ChoiceCell`: an empty cell is "not given": the field is left out of the
  row, so the object keeps its current value (or gets the default when it is created).
* :class:`ReferenceCell`: an empty cell is None, which clears the reference.
* :class:`MembersCell`: an empty cell is the empty list, which removes all members.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import TextChoices
from rest_framework import serializers
from rest_framework.fields import empty

from directory.validators import validate_single_line_text, validate_text

__all__ = ["MEMBER_SEPARATOR", "BooleanCell", "ChoiceCell", "MembersCell", "ReferenceCell", "TextCell"]

#: Separator of ``members`` in a CSV cell (a JSON file may give a list instead).
MEMBER_SEPARATOR: Final = ";"

_TRUE: Final = frozenset({"true", "yes", "1"})
_FALSE: Final = frozenset({"false", "no", "0"})


def _text(value: Any, *, multiline: bool = False) -> str:
    """A cell's text: a string or an integer (not a boolean), trimmed; None is the empty string.

    Refuses a JSON object or list, and characters that the directory does not store.
    """
    if value is None:
        return ""
    if isinstance(value, dict | list):
        raise serializers.ValidationError("Enter text, not a JSON object or list.", code="invalid")
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise serializers.ValidationError("Enter text.", code="invalid")
    text = value.strip() if isinstance(value, str) else str(value)
    try:
        (validate_text if multiline else validate_single_line_text)(text)
    except DjangoValidationError as exc:
        raise serializers.ValidationError(exc.messages, code="invalid_characters") from exc
    return text


def _shown(value: str | int) -> str:
    """A value as an error message quotes it: its repr, cut to 60 characters."""
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:57]}..."


def _empty_is_not_given(value: Any) -> Any:
    """``empty`` (DRF's "not in the data") for a null or blank cell, else the value itself."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return empty
    return value


class TextCell(serializers.Field[str, Any, str, Any]):
    """Text, trimmed; empty clears the field. ``required=True``: the cell must be present and not empty.

    Single-line text unless ``multiline`` (which allows tab, LF and CR).
    """

    default_error_messages = {"required": "This field is required."}

    def __init__(self, *, required: bool = False, multiline: bool = False, **kwargs: Any) -> None:
        super().__init__(required=required, **kwargs)
        self.multiline = multiline

    def get_value(self, dictionary: Mapping[str, Any]) -> Any:
        value = super().get_value(dictionary)
        return "" if value is None else value  # JSON null: an empty cell, not DRF's "null not allowed"

    def to_internal_value(self, data: Any) -> str:
        text = _text(data, multiline=self.multiline)
        if self.required and not text:
            self.fail("required")
        return text

    def run_validators(self, value: Any) -> None:
        if value:  # an empty cell clears the field: there is no format to check
            super().run_validators(value)

    def to_representation(self, value: str) -> str:
        return value


class ReferenceCell(serializers.Field[str | None, Any, str | None, Any]):
    """A reference to another object (an ``external_id`` or UPN), resolved later; empty is None (clear it)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(required=False, **kwargs)

    def get_value(self, dictionary: Mapping[str, Any]) -> Any:
        value = super().get_value(dictionary)
        return "" if value is None else value

    def to_internal_value(self, data: Any) -> str | None:
        return _text(data) or None

    def to_representation(self, value: str | None) -> str | None:
        return value


class BooleanCell(serializers.Field[bool, Any, bool, Any]):
    """true/false, yes/no or 1/0 in any case (or a JSON boolean); empty is "not given"."""

    default_error_messages = {"invalid": "{value} is not a boolean; use true/false, yes/no or 1/0."}

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(required=False, **kwargs)

    def get_value(self, dictionary: Mapping[str, Any]) -> Any:
        return _empty_is_not_given(super().get_value(dictionary))

    def to_internal_value(self, data: Any) -> bool:
        if isinstance(data, bool):
            return data
        if not isinstance(data, str | int):
            raise serializers.ValidationError("Enter true/false, yes/no or 1/0.", code="invalid")
        lowered = _text(data).lower()
        if lowered not in _TRUE | _FALSE:
            self.fail("invalid", value=_shown(data))
        return lowered in _TRUE

    def to_representation(self, value: bool) -> bool:
        return value


def _squash(text: str) -> str:
    return re.sub(r"[^0-9a-z]", "", text.lower())


class ChoiceCell(serializers.Field[str, Any, str, Any]):
    """A choice's value or label, case-insensitively and ignoring spaces and punctuation (``Windows 10 and
    later``, ``windows_10``); ``aliases`` name further spellings. Empty is "not given".
    """

    default_error_messages = {"invalid_choice": "{text} is not one of: {labels}."}

    def __init__(self, choices: type[TextChoices], *, aliases: Mapping[str, str] | None = None) -> None:
        super().__init__(required=False)
        self.lookup: dict[str, str] = {}
        for member in choices:
            self.lookup[_squash(member.value)] = member.value
            self.lookup[_squash(str(member.label))] = member.value
        self.lookup.update({_squash(alias): value for alias, value in (aliases or {}).items()})
        self.labels = ", ".join(f"{member.value} ({member.label})" for member in choices)

    def get_value(self, dictionary: Mapping[str, Any]) -> Any:
        return _empty_is_not_given(super().get_value(dictionary))

    def to_internal_value(self, data: Any) -> str:
        text = _text(data)
        value = self.lookup.get(_squash(text))
        if value is None:
            self.fail("invalid_choice", text=_shown(text), labels=self.labels)
        return value

    def to_representation(self, value: str) -> str:
        return value


class MembersCell(serializers.Field[list[str], Any, list[str], Any]):
    """References separated by ``;`` in a CSV cell, or a JSON list; de-duplicated in order. Empty is []."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(required=False, **kwargs)

    def get_value(self, dictionary: Mapping[str, Any]) -> Any:
        value = super().get_value(dictionary)
        return [] if value is None else value

    def to_internal_value(self, data: Any) -> list[str]:
        items = data if isinstance(data, list) else _text(data).split(MEMBER_SEPARATOR)
        members = [_text(item) for item in items]
        return list(dict.fromkeys(member for member in members if member))

    def to_representation(self, value: list[str]) -> list[str]:
        return value
