"""Directory import files: read CSV and JSON, and validate their rows into typed dicts. Pure: no ORM.

:func:`parse_file` turns a file into rows per kind (``users``, ``devices``, ``groups``) and rejects
problems of the file as a whole with :class:`~directory.exceptions.ImportFileInvalid` (unreadable text,
malformed CSV or JSON, unknown columns, no ``external_id`` column). :func:`validate_user_rows` and its
siblings check each row's values and return the valid rows as :class:`UserRow` / :class:`DeviceRow` /
:class:`GroupRow` plus one :class:`RowError` per bad row. Applying rows to the database is
:func:`directory.services.directory_import`'s job.

Formats
-------
* **CSV**: UTF-8 (a byte-order mark is ignored), comma-separated, a header row whose column names are
  the field names below (case and surrounding spaces ignored). Rows are numbered by the line on which
  they start, so the header is line 1 and the first record is row 2, as a spreadsheet shows it.
* **JSON**: a list of objects with the same keys, rows numbered from 1; or, for a combined file, an
  object ``{"users": [...], "devices": [...], "groups": [...]}`` (each key optional), applied in that
  order so that devices and groups may refer to users and devices of the same file.

Every row needs ``external_id``, the key that makes imports idempotent: an existing object with that
``external_id`` is updated, otherwise one is created. Only the columns present in the file are written:
an update leaves the other fields alone. In a column that is present, an empty text cell clears the
field; an empty boolean or choice cell (``enabled``, ``domain_joined``, ``platform``, ``state``,
``kind``) means "not given" (the current value, or the default for a new object).
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any, Final, Generic, Literal, TypeAlias, TypedDict, TypeVar, cast, get_args

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.db.models import TextChoices

from directory.exceptions import ImportFileInvalid
from directory.models import DeviceState, GroupKind, Platform
from directory.validators import validate_mac_address, validate_sid

__all__ = [
    "COLUMNS",
    "KINDS",
    "NON_FIELD_ERRORS",
    "DeviceRow",
    "GroupRow",
    "ImportCounts",
    "ImportFormat",
    "ImportKind",
    "ImportResult",
    "RowError",
    "RowsValidation",
    "SourceRow",
    "UserRow",
    "ValidRow",
    "check_columns",
    "detect_kind",
    "parse_file",
    "source_rows",
    "validate_device_rows",
    "validate_group_rows",
    "validate_user_rows",
]

ImportKind: TypeAlias = Literal["users", "devices", "groups"]
ImportFormat: TypeAlias = Literal["csv", "json"]

#: Kinds in the order a combined import applies them (devices refer to users, groups to both).
KINDS: Final[tuple[ImportKind, ...]] = get_args(ImportKind)

COLUMNS: Final[Mapping[ImportKind, tuple[str, ...]]] = {
    "users": (
        "external_id", "user_principal_name", "user_name", "email", "display_name",
        "on_premises_sam_account_name", "on_premises_distinguished_name", "on_premises_security_identifier",
        "on_premises_user_principal_name", "department", "enabled",
    ),
    "devices": (
        "external_id", "name", "platform", "os_version", "serial_number", "imei", "meid", "aad_device_id",
        "wifi_mac", "fqdn", "domain_joined", "primary_user", "state",
    ),
    "groups": ("external_id", "name", "description", "kind", "members"),
}  # fmt: skip

#: The key of errors that concern the row as a whole.
NON_FIELD_ERRORS: Final = "non_field_errors"

#: Separator of ``members`` in a CSV cell (a JSON file may give a list instead).
MEMBER_SEPARATOR: Final = ";"


class UserRow(TypedDict, total=False):
    external_id: str
    user_principal_name: str
    user_name: str
    email: str
    display_name: str
    on_premises_sam_account_name: str
    on_premises_distinguished_name: str
    on_premises_security_identifier: str
    on_premises_user_principal_name: str
    department: str
    enabled: bool


class DeviceRow(TypedDict, total=False):
    external_id: str
    name: str
    platform: str  # a Platform value
    os_version: str
    serial_number: str
    imei: str
    meid: str
    aad_device_id: str
    wifi_mac: str
    fqdn: str
    domain_joined: bool
    primary_user: str | None  # the user's external_id or UPN; None clears it
    state: str  # a DeviceState value


class GroupRow(TypedDict, total=False):
    external_id: str
    name: str
    description: str
    kind: str  # a GroupKind value
    members: list[str]  # external_ids (users also by UPN)


RowT = TypeVar("RowT", UserRow, DeviceRow, GroupRow)


@dataclass(frozen=True)
class SourceRow:
    """One row as read from the file: its number (CSV line, or 1-based JSON index) and raw values."""

    number: int
    values: Mapping[str, Any]
    problems: tuple[str, ...] = ()  # structural problems (too many CSV cells, not a JSON object)


@dataclass(frozen=True)
class RowError:
    kind: ImportKind
    row: int
    external_id: str | None
    errors: dict[str, list[str]]

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "row": self.row, "external_id": self.external_id, "errors": self.errors}


@dataclass(frozen=True)
class ValidRow(Generic[RowT]):
    number: int
    external_id: str
    data: RowT


@dataclass(frozen=True)
class RowsValidation(Generic[RowT]):
    valid: list[ValidRow[RowT]]
    errors: list[RowError]


@dataclass
class ImportCounts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0

    def as_dict(self) -> dict[str, int]:
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "failed": self.failed,
        }


@dataclass
class ImportResult:
    """What an import did (or, with ``dry_run``, would do). ``errors`` lists the rows not applied."""

    dry_run: bool = False
    counts: dict[ImportKind, ImportCounts] = field(default_factory=dict)
    errors: list[RowError] = field(default_factory=list)

    def counts_for(self, kind: ImportKind) -> ImportCounts:
        return self.counts.setdefault(kind, ImportCounts())

    @property
    def created(self) -> int:
        return sum(c.created for c in self.counts.values())

    @property
    def updated(self) -> int:
        return sum(c.updated for c in self.counts.values())

    @property
    def unchanged(self) -> int:
        return sum(c.unchanged for c in self.counts.values())

    @property
    def failed(self) -> int:
        return sum(c.failed for c in self.counts.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "failed": self.failed,
            "by_kind": {kind: self.counts[kind].as_dict() for kind in KINDS if kind in self.counts},
            "errors": [error.as_dict() for error in self.errors],
        }


# --- reading files ---------------------------------------------------------------------------------


def parse_file(
    content: bytes | str,
    *,
    file_format: ImportFormat | Literal["auto"] = "auto",
    kind: ImportKind | Literal["auto"] = "auto",
    filename: str | None = None,
) -> dict[ImportKind, list[SourceRow]]:
    """Read an import file into rows per kind; raise ``ImportFileInvalid`` for a file-level problem.

    ``file_format="auto"`` goes by the file name's suffix (``.csv``, ``.json``), else by the first character
    (``[`` or ``{`` is JSON). ``kind="auto"`` recognises a combined JSON file by its keys and otherwise
    the one kind whose columns include all of the file's columns. With an explicit ``kind``, a
    combined JSON file contributes only that section.
    """
    text = _decode(content)
    fmt = file_format if file_format != "auto" else _detect_format(text, filename)
    sections = _read_json(text) if fmt == "json" else {None: _read_csv(text)}
    result: dict[ImportKind, list[SourceRow]] = {}
    for section, (columns, rows) in sections.items():
        if not columns and not rows:
            continue  # an empty JSON list: nothing to import (and nothing to tell the kind by)
        if section is None:
            section_kind = detect_kind(columns) if kind == "auto" else kind
        elif kind not in ("auto", section):
            continue
        else:
            section_kind = section
        check_columns(section_kind, columns)
        result[section_kind] = rows
    return result


def source_rows(kind: ImportKind, rows: Sequence[Mapping[str, Any] | SourceRow]) -> list[SourceRow]:
    """Number plain mappings (1-based, as in a JSON list) and check the columns of all rows together."""
    numbered: list[SourceRow] = []
    for index, row in enumerate(rows, start=1):
        if isinstance(row, SourceRow):
            numbered.append(row)
        else:
            numbered.append(SourceRow(index, {str(k).strip().lower(): v for k, v in row.items()}))
    columns = {column for row in numbered for column in row.values}
    if numbered and any(row.values for row in numbered):
        check_columns(kind, columns)
    return numbered


def check_columns(kind: ImportKind, columns: Collection[str]) -> None:
    known = COLUMNS[kind]
    unknown = sorted(set(columns) - set(known))
    if unknown:
        raise ImportFileInvalid(
            f"unknown columns for {kind}: {', '.join(unknown)} (known: {', '.join(known)})",
            extra={"kind": kind, "unknown_columns": unknown, "known_columns": list(known)},
        )
    if "external_id" not in columns:
        raise ImportFileInvalid(
            f"the {kind} rows have no external_id column, the key that identifies each row",
            extra={"kind": kind, "missing_columns": ["external_id"]},
        )


def detect_kind(columns: Collection[str]) -> ImportKind:
    """The only kind whose columns include every one of ``columns``."""
    fitting = [kind for kind in KINDS if set(columns) <= set(COLUMNS[kind])]
    if len(fitting) == 1:
        return fitting[0]
    if not fitting:
        closest = max(KINDS, key=lambda kind: len(set(columns) & set(COLUMNS[kind])))
        check_columns(closest, columns)  # raises: lists the columns unknown for the closest kind
    raise ImportFileInvalid(
        f"cannot tell from the columns ({', '.join(sorted(columns))}) whether the file holds "
        f"{' or '.join(fitting)}; state the kind",
        extra={"columns": sorted(columns)},
    )


def _decode(content: bytes | str) -> str:
    if isinstance(content, str):
        return content.removeprefix("\ufeff")
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportFileInvalid(f"the file is not UTF-8 text (byte {exc.start})") from exc


def _detect_format(text: str, filename: str | None) -> ImportFormat:
    suffix = PurePath(filename).suffix.lower() if filename else ""
    if suffix in (".csv", ".json"):
        return cast(ImportFormat, suffix[1:])
    return "json" if text.lstrip()[:1] in ("[", "{") else "csv"


def _read_csv(text: str) -> tuple[list[str], list[SourceRow]]:
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next((cells for cells in reader if any(cell.strip() for cell in cells)), None)
        if header is None:
            raise ImportFileInvalid("the CSV file is empty; it needs a header row")
        columns = [cell.strip().lower() for cell in header]
        if "" in columns:
            raise ImportFileInvalid(f"column {columns.index('') + 1} of the header row has no name")
        duplicates = sorted({c for c in columns if columns.count(c) > 1})
        if duplicates:
            raise ImportFileInvalid(f"duplicate columns in the header row: {', '.join(duplicates)}")
        rows: list[SourceRow] = []
        start = reader.line_num + 1
        for cells in reader:
            number, start = start, reader.line_num + 1
            if not any(cell.strip() for cell in cells):
                continue  # blank line
            problems: tuple[str, ...] = ()
            if len(cells) > len(columns):
                problems = (f"The row has {len(cells)} values but the header has {len(columns)} columns.",)
            rows.append(SourceRow(number, dict(zip(columns, cells, strict=False)), problems))
    except csv.Error as exc:
        raise ImportFileInvalid(f"line {reader.line_num}: not valid CSV: {exc}") from exc
    return columns, rows


def _read_json(text: str) -> dict[ImportKind | None, tuple[list[str], list[SourceRow]]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ImportFileInvalid(f"not valid JSON: {exc}") from exc
    if isinstance(data, list):
        return {None: _json_rows(data, where="the list")}
    if isinstance(data, dict):
        unknown = sorted(set(data) - set(KINDS))
        if unknown:
            raise ImportFileInvalid(
                f"a combined JSON file has the keys {', '.join(KINDS)}; unknown: {', '.join(unknown)}",
                extra={"unknown_keys": unknown},
            )
        sections: dict[ImportKind | None, tuple[list[str], list[SourceRow]]] = {}
        for kind in KINDS:
            if kind in data:
                if not isinstance(data[kind], list):
                    raise ImportFileInvalid(f'"{kind}" must be a list of objects')
                sections[kind] = _json_rows(data[kind], where=f'"{kind}"')
        return sections
    raise ImportFileInvalid(
        "a JSON import file is a list of objects, or an object with users/devices/groups lists"
    )


def _json_rows(items: list[Any], *, where: str) -> tuple[list[str], list[SourceRow]]:
    rows: list[SourceRow] = []
    columns: dict[str, None] = {}  # ordered set
    for number, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            rows.append(SourceRow(number, {}, problems=(f"Each item of {where} must be an object.",)))
            continue
        values = {str(key).strip().lower(): value for key, value in item.items()}
        columns.update(dict.fromkeys(values))
        rows.append(SourceRow(number, values))
    return list(columns), rows


# --- validating rows -------------------------------------------------------------------------------


class _NotGiven:
    """Marker returned by a converter for an empty boolean or choice cell: leave the field alone."""


_NOT_GIVEN: Final = _NotGiven()
_TRUE: Final = frozenset({"true", "yes", "1"})
_FALSE: Final = frozenset({"false", "no", "0"})
_validate_email: Final = EmailValidator()

Converter: TypeAlias = Callable[[Any], Any]


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValidationError("Enter text.", code="invalid")
    return str(value).strip()


def _required_text(value: Any) -> str:
    text = _text(value)
    if not text:
        raise ValidationError("This field is required.", code="required")
    return text


def _checked_text(*validators: Callable[[str], None]) -> Converter:
    def convert(value: Any) -> str:
        text = _text(value)
        if text:
            for validator in validators:
                validator(text)
        return text

    return convert


def _upn(value: str) -> None:
    name, at, suffix = value.rpartition("@")
    if not (name and at and suffix) or any(c.isspace() for c in value):
        raise ValidationError(
            "Enter a user principal name such as jane@corp.example.com.", code="invalid_upn"
        )


def _boolean(value: Any) -> bool | _NotGiven:
    if isinstance(value, bool):
        return value
    if value is None or (isinstance(value, str) and not value.strip()):
        return _NOT_GIVEN
    lowered = str(value).strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValidationError(f"{value!r} is not a boolean; use true/false, yes/no or 1/0.", code="invalid")


def _squash(text: str) -> str:
    return re.sub(r"[^0-9a-z]", "", text.lower())


def _choice(choices: type[TextChoices], **aliases: str) -> Converter:
    """Accept a choice's value or label, case-insensitively and ignoring spaces and punctuation."""
    lookup: dict[str, str] = {}
    for member in choices:
        lookup[_squash(member.value)] = member.value
        lookup[_squash(str(member.label))] = member.value
    lookup.update({_squash(alias): value for alias, value in aliases.items()})
    labels = ", ".join(f"{member.value} ({member.label})" for member in choices)

    def convert(value: Any) -> str | _NotGiven:
        text = _text(value)
        if not text:
            return _NOT_GIVEN
        try:
            return lookup[_squash(text)]
        except KeyError:
            raise ValidationError(f"{text!r} is not one of: {labels}.", code="invalid_choice") from None

    return convert


def _optional_reference(value: Any) -> str | None:
    return _text(value) or None


def _members(value: Any) -> list[str]:
    if value is None:
        return []
    items = value if isinstance(value, list) else _text(value).split(MEMBER_SEPARATOR)
    members = [_text(item) for item in items]
    return list(dict.fromkeys(member for member in members if member))  # de-duplicated, in order


_CONVERTERS: Final[Mapping[ImportKind, Mapping[str, Converter]]] = {
    "users": {
        "external_id": _required_text,
        "user_principal_name": _checked_text(_upn),
        "user_name": _text,
        "email": _checked_text(_validate_email),
        "display_name": _text,
        "on_premises_sam_account_name": _text,
        "on_premises_distinguished_name": _text,
        "on_premises_security_identifier": _checked_text(validate_sid),
        "on_premises_user_principal_name": _checked_text(_upn),
        "department": _text,
        "enabled": _boolean,
    },
    "devices": {
        "external_id": _required_text,
        "name": _text,
        "platform": _choice(Platform),
        "os_version": _text,
        "serial_number": _text,
        "imei": _text,
        "meid": _text,
        "aad_device_id": _text,
        "wifi_mac": _checked_text(validate_mac_address),
        "fqdn": _text,
        "domain_joined": _boolean,
        "primary_user": _optional_reference,
        "state": _choice(DeviceState),
    },
    "groups": {
        "external_id": _required_text,
        "name": _text,
        "description": _text,
        "kind": _choice(GroupKind, users=GroupKind.USER, devices=GroupKind.DEVICE),
        "members": _members,
    },
}


def _validate(
    kind: ImportKind, rows: Sequence[SourceRow]
) -> tuple[list[tuple[int, str, dict[str, Any]]], list[RowError]]:
    converters = _CONVERTERS[kind]
    valid: list[tuple[int, str, dict[str, Any]]] = []
    errors: list[RowError] = []
    first_seen: dict[str, int] = {}
    for row in rows:
        data: dict[str, Any] = {}
        row_errors: dict[str, list[str]] = {}
        if row.problems:
            row_errors[NON_FIELD_ERRORS] = list(row.problems)
        for column, raw in row.values.items():
            converter = converters.get(column)
            if converter is None:  # rows given directly, not through check_columns
                row_errors[column] = ["Unknown column."]
                continue
            try:
                value = converter(raw)
            except ValidationError as exc:
                row_errors[column] = list(exc.messages)
                continue
            if value is not _NOT_GIVEN:
                data[column] = value
        if "external_id" not in row.values and not row.problems:
            row_errors["external_id"] = ["This field is required."]
        external_id = data.get("external_id") or (_safe_text(row.values.get("external_id")) or None)
        if external_id is not None and "external_id" not in row_errors:
            if external_id in first_seen:
                row_errors["external_id"] = [
                    f"Duplicate: row {first_seen[external_id]} has the same external_id."
                ]
            else:
                first_seen[external_id] = row.number
        if row_errors:
            errors.append(RowError(kind, row.number, external_id, row_errors))
        else:
            valid.append((row.number, data["external_id"], data))
    return valid, errors


def _safe_text(value: Any) -> str:
    try:
        return _text(value)
    except ValidationError:
        return ""


def validate_user_rows(rows: Sequence[SourceRow]) -> RowsValidation[UserRow]:
    valid, errors = _validate("users", rows)
    return RowsValidation([ValidRow(n, eid, cast(UserRow, data)) for n, eid, data in valid], errors)


def validate_device_rows(rows: Sequence[SourceRow]) -> RowsValidation[DeviceRow]:
    valid, errors = _validate("devices", rows)
    return RowsValidation([ValidRow(n, eid, cast(DeviceRow, data)) for n, eid, data in valid], errors)


def validate_group_rows(rows: Sequence[SourceRow]) -> RowsValidation[GroupRow]:
    valid, errors = _validate("groups", rows)
    return RowsValidation([ValidRow(n, eid, cast(GroupRow, data)) for n, eid, data in valid], errors)
