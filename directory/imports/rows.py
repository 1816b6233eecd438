"""The rows of an import: what each kind holds, and checking rows before any database work. Pure: no ORM.

One plain DRF serializer per kind (:class:`UserRowSerializer`, :class:`DeviceRowSerializer`,
:class:`GroupRowSerializer`) declares the columns in the order the documentation lists them and how
each cell is read (:mod:`directory.imports.cells`). Their fields are the one list of a kind's fields:
:data:`COLUMNS` (what an import file may hold) and the fields the directory services update
(``USER_FIELDS`` and its siblings in :mod:`directory.services`) are derived from them.

:func:`validate_rows` checks each row's values and returns the valid rows plus one :class:`RowError` per
bad row. What the database knows (unique values, references to other rows, a device's state) is
checked when the rows are applied (:mod:`directory.services.imports`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal, TypeAlias, get_args

from django.core.validators import EmailValidator
from rest_framework import serializers

from directory.imports.cells import BooleanCell, ChoiceCell, MembersCell, ReferenceCell, TextCell
from directory.models import DeviceState, GroupKind, Platform
from directory.validators import validate_mac_address, validate_sid, validate_upn

__all__ = [
    "COLUMNS",
    "KINDS",
    "MEMBERS_COLUMN",
    "NON_FIELD_ERRORS",
    "ROW_SERIALIZERS",
    "DeviceRowSerializer",
    "GroupRowSerializer",
    "ImportKind",
    "RowError",
    "RowsValidation",
    "SourceRow",
    "UserRowSerializer",
    "ValidRow",
    "validate_rows",
]

ImportKind: TypeAlias = Literal["users", "devices", "groups"]

#: Kinds in the order a combined import applies them (devices refer to users, groups to both).
KINDS: Final[tuple[ImportKind, ...]] = get_args(ImportKind)

#: The key of errors that concern the row as a whole.
NON_FIELD_ERRORS: Final = "non_field_errors"

#: The column of a group row that lists its members (not a field of the group itself).
MEMBERS_COLUMN: Final = "members"


class UserRowSerializer(serializers.Serializer[Any]):
    external_id = TextCell(required=True)
    user_principal_name = TextCell(validators=[validate_upn])
    user_name = TextCell()
    email = TextCell(validators=[EmailValidator()])
    display_name = TextCell()
    on_premises_sam_account_name = TextCell()
    on_premises_distinguished_name = TextCell()
    on_premises_security_identifier = TextCell(validators=[validate_sid])
    on_premises_user_principal_name = TextCell(validators=[validate_upn])
    department = TextCell()
    enabled = BooleanCell()


class DeviceRowSerializer(serializers.Serializer[Any]):
    external_id = TextCell(required=True)
    name = TextCell()
    platform = ChoiceCell(Platform)
    os_version = TextCell()
    serial_number = TextCell()
    imei = TextCell()
    meid = TextCell()
    aad_device_id = TextCell()
    wifi_mac = TextCell(validators=[validate_mac_address])
    fqdn = TextCell()
    domain_joined = BooleanCell()
    security_identifier = TextCell(validators=[validate_sid])
    primary_user = ReferenceCell(help_text="The user's external_id or UPN")
    state = ChoiceCell(DeviceState)


class GroupRowSerializer(serializers.Serializer[Any]):
    external_id = TextCell(required=True)
    name = TextCell()
    description = TextCell(multiline=True)
    kind = ChoiceCell(GroupKind, aliases={"users": GroupKind.USER, "devices": GroupKind.DEVICE})
    members = MembersCell(help_text="external_ids (users also by UPN)")


ROW_SERIALIZERS: Final[Mapping[ImportKind, type[serializers.Serializer[Any]]]] = {
    "users": UserRowSerializer,
    "devices": DeviceRowSerializer,
    "groups": GroupRowSerializer,
}

#: The columns of each kind, in documentation order: the fields of its row serializer.
COLUMNS: Final[Mapping[ImportKind, tuple[str, ...]]] = {
    kind: tuple(serializer().fields) for kind, serializer in ROW_SERIALIZERS.items()
}


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
class ValidRow:
    """A row whose values passed its serializer: ``data`` holds the columns given, as typed values."""

    number: int
    external_id: str
    data: dict[str, Any]


@dataclass(frozen=True)
class RowsValidation:
    valid: list[ValidRow]
    errors: list[RowError]


def _field_errors(exc: serializers.ValidationError) -> dict[str, list[str]]:
    """A row serializer's errors by field, as plain strings."""
    detail: Any = exc.detail  # by field: Serializer.run_validation raises with as_serializer_error()
    return {str(name): [str(message) for message in messages] for name, messages in detail.items()}


def _check(
    serializer: serializers.Serializer[Any], row: SourceRow
) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """The row's values as the serializer reads them, or its errors by column."""
    errors: dict[str, list[str]] = {}
    if row.problems:
        errors[NON_FIELD_ERRORS] = list(row.problems)
    for column in row.values:
        if column not in serializer.fields:  # rows given directly, not through check_columns
            errors[column] = ["Unknown column."]
    data: dict[str, Any] = {}
    try:
        data = dict(serializer.run_validation(row.values))
    except serializers.ValidationError as exc:
        errors.update(_field_errors(exc))
    return data, errors


def _external_id(serializer: serializers.Serializer[Any], values: Mapping[str, Any]) -> str | None:
    """The ``external_id`` of a row that failed on other columns, to name it in the error."""
    field = serializer.fields["external_id"]
    try:
        return str(field.run_validation(field.get_value(values)))
    except (serializers.ValidationError, serializers.SkipField):
        return None


def validate_rows(kind: ImportKind, rows: Sequence[SourceRow]) -> RowsValidation:
    """Check each row's values with the kind's serializer, and that no two rows share an ``external_id``."""
    # One instance for all rows: the fields are built once. A row with structural problems (too many CSV
    # cells, a JSON item that is no object) is refused for them; its values are checked too, but as
    # ``partial``, so that a column it lacks is not reported on top.
    serializer = ROW_SERIALIZERS[kind]()
    broken_row_serializer = ROW_SERIALIZERS[kind](partial=True)
    valid: list[ValidRow] = []
    errors: list[RowError] = []
    first_seen: dict[str, int] = {}
    for row in rows:
        data, row_errors = _check(broken_row_serializer if row.problems else serializer, row)
        external_id: str | None = None
        if "external_id" not in row_errors:
            external_id = data.get("external_id") or _external_id(serializer, row.values)
            if external_id is not None and external_id in first_seen:
                row_errors["external_id"] = [
                    f"Duplicate: row {first_seen[external_id]} has the same external_id."
                ]
            elif external_id is not None:
                first_seen[external_id] = row.number
        if row_errors:
            errors.append(RowError(kind, row.number, external_id, row_errors))
        else:
            valid.append(ValidRow(row.number, data["external_id"], data))
    return RowsValidation(valid, errors)
