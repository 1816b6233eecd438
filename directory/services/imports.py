"""Apply import rows (see :mod:`directory.imports`): create or update by ``external_id``, row by row.

Each row is one call of the users, devices or groups services, whose savepoint rolls a failing row
back alone so that it can be reported while the others go on. References to other objects (a device's
primary user, a group's members) are resolved in bulk, including objects created by earlier sections of
the same import.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import Any, Final, Literal, TypeAlias, TypeVar

from django.core.exceptions import NON_FIELD_ERRORS as DJANGO_NON_FIELD_ERRORS
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from core.exceptions import ApplicationError
from directory.imports.files import ImportFormat, parse_file, source_rows
from directory.imports.results import ImportResult
from directory.imports.rows import (
    KINDS,
    MEMBERS_COLUMN,
    NON_FIELD_ERRORS,
    ImportKind,
    RowError,
    RowsValidation,
    SourceRow,
    ValidRow,
    validate_rows,
)
from directory.models import Device, DirectoryUser, Group, GroupKind
from directory.selectors import Member, device_resolve_many, user_resolve_many
from directory.services.devices import device_create, device_update
from directory.services.groups import group_create, group_update
from directory.services.users import user_create, user_update

__all__ = ["ImportRows", "directory_import", "directory_import_combined", "directory_import_file"]

ModelT = TypeVar("ModelT", DirectoryUser, Device, Group)
_Outcome: TypeAlias = Literal["created", "updated", "unchanged"]
ImportRows: TypeAlias = Sequence[Mapping[str, Any] | SourceRow]

_BATCH: Final = 500  # external_ids per query, well under SQLite's variable limit


def _error_dict(exc: ValidationError) -> dict[str, list[str]]:
    if not hasattr(exc, "error_dict"):
        return {NON_FIELD_ERRORS: list(exc.messages)}
    return {
        (NON_FIELD_ERRORS if name == DJANGO_NON_FIELD_ERRORS else name): messages
        for name, messages in exc.message_dict.items()
    }


def _apply_row(result: ImportResult, kind: ImportKind, row: ValidRow, apply: Callable[[], _Outcome]) -> None:
    """Apply one row; a failing row is rolled back alone and reported, the others go on.

    Each ``apply`` checks what it can without writing, then makes exactly one call of a users, devices or
    groups service. Those are atomic, so that call's savepoint is the row's: a second one here would
    double the queries per row (the savepoint statements are most of an unchanged row's cost).
    """
    counts = result.counts_for(kind)
    try:
        outcome = apply()
    except ValidationError as exc:
        errors = _error_dict(exc)
    except ApplicationError as exc:
        errors = {str(exc.extra.get("field", NON_FIELD_ERRORS)): [exc.message]}
    except IntegrityError as exc:  # a concurrent writer took a unique value between check and insert
        errors = {NON_FIELD_ERRORS: [f"The database refused the row: {exc}"]}
    else:
        setattr(counts, outcome, getattr(counts, outcome) + 1)
        return
    counts.failed += 1
    result.errors.append(RowError(kind, row.number, row.external_id, errors))


def _record_invalid(result: ImportResult, kind: ImportKind, validation: RowsValidation) -> None:
    result.counts_for(kind).failed += len(validation.errors)
    result.errors.extend(validation.errors)


def _existing(model: type[ModelT], rows: Sequence[ValidRow]) -> dict[str, ModelT]:
    found: dict[str, ModelT] = {}
    external_ids = [row.external_id for row in rows]
    for start in range(0, len(external_ids), _BATCH):
        found.update(model.objects.in_bulk(external_ids[start : start + _BATCH], field_name="external_id"))
    return found


# A new object gets the model's defaults for the columns its row lacks; a required field the row lacks is
# passed blank, so that full_clean reports it ("This field cannot be blank.") like any other field error.


def _import_user(row: ValidRow, existing: Mapping[str, DirectoryUser]) -> _Outcome:
    user = existing.get(row.external_id)
    if user is None:
        user_create(**{"user_principal_name": "", **row.data})
        return "created"
    return "updated" if user_update(user=user, data=row.data).has_changed else "unchanged"


def _import_device(
    row: ValidRow, existing: Mapping[str, Device], users: Mapping[str, DirectoryUser]
) -> _Outcome:
    data: dict[str, Any] = dict(row.data)
    reference = data.get("primary_user")
    if reference is not None:
        data["primary_user"] = users.get(reference)
        if data["primary_user"] is None:
            raise ValidationError({"primary_user": [f"No user has the external_id or UPN {reference!r}."]})
    device = existing.get(row.external_id)
    if device is None:
        device_create(**{"name": "", "platform": "", **data})
        return "created"
    return "updated" if device_update(device=device, data=data).has_changed else "unchanged"


def _group_row_kind(row: ValidRow, existing: Mapping[str, Group]) -> str | None:
    group = existing.get(row.external_id)
    kind: str | None = row.data.get("kind") or (group.kind if group is not None else None)
    return kind


def _import_group(
    row: ValidRow,
    existing: Mapping[str, Group],
    users: Mapping[str, DirectoryUser],
    devices: Mapping[str, Device],
) -> _Outcome:
    data: dict[str, Any] = dict(row.data)
    references: list[str] | None = data.pop(MEMBERS_COLUMN, None)
    group = existing.get(row.external_id)
    members: list[Member] | None = None
    if references is not None:
        kind = _group_row_kind(row, existing)
        if kind is None:
            raise ValidationError({"kind": ["This field cannot be blank."]})
        lookup: Mapping[str, Member] = users if kind == GroupKind.USER else devices
        unknown = [reference for reference in references if reference not in lookup]
        if unknown:
            what = "users" if kind == GroupKind.USER else "devices"
            raise ValidationError({"members": [f"Unknown {what}: {', '.join(unknown)}."]})
        members = list(dict.fromkeys(lookup[reference] for reference in references))
    if group is None:
        group_create(**{"name": "", "kind": "", **data}, members=members or ())
        return "created"
    return "updated" if group_update(group=group, data=data, members=members).has_changed else "unchanged"


def _import_users(rows: Sequence[SourceRow], result: ImportResult) -> None:
    validation = validate_rows("users", rows)
    _record_invalid(result, "users", validation)
    existing = _existing(DirectoryUser, validation.valid)
    for row in validation.valid:
        _apply_row(result, "users", row, partial(_import_user, row, existing))


def _import_devices(rows: Sequence[SourceRow], result: ImportResult) -> None:
    validation = validate_rows("devices", rows)
    _record_invalid(result, "devices", validation)
    existing = _existing(Device, validation.valid)
    users = user_resolve_many(
        references={ref for row in validation.valid if (ref := row.data.get("primary_user"))}
    )
    for row in validation.valid:
        _apply_row(result, "devices", row, partial(_import_device, row, existing, users))


def _import_groups(rows: Sequence[SourceRow], result: ImportResult) -> None:
    validation = validate_rows("groups", rows)
    _record_invalid(result, "groups", validation)
    existing = _existing(Group, validation.valid)
    user_refs: set[str] = set()
    device_refs: set[str] = set()
    for row in validation.valid:
        refs = user_refs if _group_row_kind(row, existing) == GroupKind.USER else device_refs
        refs.update(row.data.get(MEMBERS_COLUMN, []))
    users = user_resolve_many(references=user_refs)
    devices = device_resolve_many(references=device_refs)
    for row in validation.valid:
        _apply_row(result, "groups", row, partial(_import_group, row, existing, users, devices))


_IMPORTERS: Final[Mapping[ImportKind, Callable[[Sequence[SourceRow], ImportResult], None]]] = {
    "users": _import_users,
    "devices": _import_devices,
    "groups": _import_groups,
}


def directory_import(*, kind: ImportKind, rows: ImportRows, dry_run: bool = False) -> ImportResult:
    """Create or update ``kind`` objects from ``rows``, by ``external_id``; see :mod:`directory.imports`.

    A row that fails is rolled back alone and reported in ``ImportResult.errors``; all other rows are
    applied in one transaction, or, with ``dry_run``, rolled back after counting what they would do.
    Raises ``ImportFileInvalid`` (nothing applied) for unknown columns or a missing external_id column.
    """
    return directory_import_combined(sections={kind: rows}, dry_run=dry_run)


def directory_import_combined(
    *, sections: Mapping[ImportKind, ImportRows], dry_run: bool = False
) -> ImportResult:
    """:func:`directory_import` for several kinds at once, applied as users, devices, then groups."""
    unknown = set(sections) - set(KINDS)
    if unknown:
        raise ValueError(f"unknown import kinds: {', '.join(sorted(unknown))}")
    prepared = {kind: source_rows(kind, sections[kind]) for kind in KINDS if kind in sections}
    result = ImportResult(dry_run=dry_run)
    with transaction.atomic():
        for kind, rows in prepared.items():
            result.counts_for(kind)
            _IMPORTERS[kind](rows, result)
        if dry_run:
            transaction.set_rollback(True)
    result.errors.sort(key=lambda error: (KINDS.index(error.kind), error.row))
    return result


def directory_import_file(
    *,
    content: bytes | str,
    file_format: ImportFormat | Literal["auto"] = "auto",
    kind: ImportKind | Literal["auto"] = "auto",
    filename: str | None = None,
    dry_run: bool = False,
) -> ImportResult:
    """Read a CSV or JSON import file (see :func:`directory.imports.files.parse_file`) and import it."""
    sections = parse_file(content, file_format=file_format, kind=kind, filename=filename)
    return directory_import_combined(sections=sections, dry_run=dry_run)
