"""Apply import rows (see :mod:`directory.imports`): create or update by ``external_id``, a chunk at a time.

:func:`import_chunk_apply` applies one chunk of an import plan (:mod:`directory.imports.plan`) in one
transaction of its own, so that no transaction spans a whole import: each row is one call of the users,
devices or groups services, whose savepoint rolls a failing row back alone so that it can be reported
while the others go on. References to other objects (a device's primary user, a group's members) are
resolved in bulk per chunk; the objects that earlier chunks created are committed by then.

A dry run applies each chunk and rolls it back. Rows of a later kind may refer to users and devices that
an earlier chunk created or changed (and rolled back): :class:`DryRun` remembers those rows and applies
them again inside the chunk that refers to them, rolled back with it, so that a dry run counts what the
import would do without ever holding a transaction longer than a chunk.

:func:`directory_import` and its siblings run a whole import in the calling process, chunk by chunk; the
import jobs (:mod:`directory.services.import_jobs`) do the same and record their progress.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Final, Literal, TypeAlias, TypeVar

from django.core.exceptions import NON_FIELD_ERRORS as DJANGO_NON_FIELD_ERRORS
from django.core.exceptions import ValidationError
from django.db import DataError, IntegrityError, transaction

from core import metrics
from core.exceptions import ApplicationError
from directory.conf import directory_settings
from directory.imports.files import ImportFormat, parse_file
from directory.imports.plan import ImportChunk, ImportRows, import_plan
from directory.imports.results import ImportResult
from directory.imports.rows import MEMBERS_COLUMN, NON_FIELD_ERRORS, ImportKind, RowError, ValidRow
from directory.models import Device, DirectoryUser, Group, GroupKind
from directory.observers import DirectoryChanges, directory_changes_batched
from directory.selectors import Member, device_resolve_many, user_resolve_many
from directory.services.devices import device_create, device_update
from directory.services.groups import group_create, group_update
from directory.services.users import user_create, user_update

__all__ = [
    "DryRun",
    "directory_import",
    "directory_import_combined",
    "directory_import_file",
    "import_chunk_apply",
]

ModelT = TypeVar("ModelT", DirectoryUser, Device, Group)
_Outcome: TypeAlias = Literal["created", "updated", "unchanged"]

_BATCH: Final = 500  # external_ids per query, well under SQLite's variable limit
#: What one row's service call may raise for that row alone (its savepoint is rolled back).
_ROW_ERRORS: Final = (ValidationError, ApplicationError, IntegrityError, DataError)
#: Unknown members named in a row's error, at most.
_UNKNOWN_SHOWN: Final = 20


@dataclass
class DryRun:
    """The users and devices that a dry run's earlier chunks created or changed, and rolled back.

    A later chunk that refers to one of them applies its row again first (rolled back with the chunk).
    """

    users_by_id: dict[str, ValidRow] = field(default_factory=dict)
    users_by_upn: dict[str, ValidRow] = field(default_factory=dict)  # lower-cased, as UPNs compare
    devices_by_id: dict[str, ValidRow] = field(default_factory=dict)

    def remember(self, kind: ImportKind, row: ValidRow) -> None:
        if kind == "users":
            self.users_by_id[row.external_id] = row
            upn = row.data.get("user_principal_name")
            if upn:
                self.users_by_upn[str(upn).lower()] = row
        elif kind == "devices":
            self.devices_by_id[row.external_id] = row

    def user_rows(self, references: Collection[str]) -> list[ValidRow]:
        found = (self.users_by_id.get(ref) or self.users_by_upn.get(ref.lower()) for ref in references)
        return list({row.external_id: row for row in found if row is not None}.values())

    def device_rows(self, references: Collection[str]) -> list[ValidRow]:
        found = (self.devices_by_id.get(ref) for ref in references)
        return list({row.external_id: row for row in found if row is not None}.values())


def _error_dict(exc: ValidationError) -> dict[str, list[str]]:
    if not hasattr(exc, "error_dict"):
        return {NON_FIELD_ERRORS: list(exc.messages)}
    return {
        (NON_FIELD_ERRORS if name == DJANGO_NON_FIELD_ERRORS else name): messages
        for name, messages in exc.message_dict.items()
    }


@dataclass
class _ChunkRun:
    """One chunk being applied: what its rows did, the dry run if it is one, the changes it announces."""

    result: ImportResult
    dry_run: DryRun | None
    changes: DirectoryChanges


def _apply_row(
    run: _ChunkRun, kind: ImportKind, row: ValidRow, apply: Callable[[], _Outcome]
) -> _Outcome | None:
    """Apply one row; a failing row is rolled back alone and reported, the others go on.

    Each ``apply`` checks what it can without writing, then makes exactly one call of a users, devices or
    groups service. Those are atomic, so that call's savepoint is the row's: a second one here would
    double the queries per row (the savepoint statements are most of an unchanged row's cost). What a
    failing row announced to the directory observers is forgotten with it.
    """
    result = run.result
    counts = result.counts_for(kind)
    mark = run.changes.mark()
    try:
        outcome = apply()
    except ValidationError as exc:
        errors = _error_dict(exc)
    except ApplicationError as exc:
        errors = {str(exc.extra.get("field", NON_FIELD_ERRORS)): [exc.message]}
    except (IntegrityError, DataError) as exc:  # e.g. a concurrent writer took a unique value
        errors = {NON_FIELD_ERRORS: [f"The database refused the row: {exc}"]}
    else:
        setattr(counts, outcome, getattr(counts, outcome) + 1)
        return outcome
    run.changes.rewind(mark)
    counts.failed += 1
    result.errors.append(RowError(kind, row.number, row.external_id, errors))
    return None


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
            shown = ", ".join(unknown[:_UNKNOWN_SHOWN]) + (", ..." if len(unknown) > _UNKNOWN_SHOWN else "")
            raise ValidationError({"members": [f"Unknown {what}: {shown}."]})
        members = list(dict.fromkeys(lookup[reference] for reference in references))
    if group is None:
        group_create(**{"name": "", "kind": "", **data}, members=members or ())
        return "created"
    return "updated" if group_update(group=group, data=data, members=members).has_changed else "unchanged"


def _replay(rows: Sequence[ValidRow], apply: Callable[[ValidRow], object]) -> bool:
    """Apply again rows that a dry run applied (and rolled back) in an earlier chunk."""
    for row in rows:
        try:
            apply(row)
        except _ROW_ERRORS:  # it went through before; if not now, the reference stays unresolved
            continue
    return bool(rows)


def _replay_users(dry_run: DryRun | None, references: Collection[str]) -> bool:
    rows = dry_run.user_rows(references) if dry_run is not None else []
    if not rows:
        return False
    existing = _existing(DirectoryUser, rows)
    return _replay(rows, lambda row: _import_user(row, existing))


def _replay_devices(dry_run: DryRun | None, references: Collection[str]) -> bool:
    rows = dry_run.device_rows(references) if dry_run is not None else []
    if not rows:
        return False
    # A group that lists the device needs it to exist, not its primary user (who may be new, too).
    bare = [
        ValidRow(row.number, row.external_id, {k: v for k, v in row.data.items() if k != "primary_user"})
        for row in rows
    ]
    existing = _existing(Device, bare)
    return _replay(bare, lambda row: _import_device(row, existing, {}))


def _users_for(references: set[str], dry_run: DryRun | None) -> dict[str, DirectoryUser]:
    users = user_resolve_many(references=references)
    missing = references - set(users)
    if missing and _replay_users(dry_run, missing):
        users.update(user_resolve_many(references=missing))
    return users


def _devices_for(references: set[str], dry_run: DryRun | None) -> dict[str, Device]:
    devices = device_resolve_many(references=references)
    missing = references - set(devices)
    if missing and _replay_devices(dry_run, missing):
        devices.update(device_resolve_many(references=missing))
    return devices


def _apply_rows(
    run: _ChunkRun, kind: ImportKind, rows: Sequence[ValidRow], apply: Callable[[ValidRow], _Outcome]
) -> None:
    for row in rows:
        outcome = _apply_row(run, kind, row, partial(apply, row))
        if run.dry_run is not None and outcome in ("created", "updated"):
            run.dry_run.remember(kind, row)


def _import_users(rows: Sequence[ValidRow], run: _ChunkRun) -> None:
    existing = _existing(DirectoryUser, rows)
    _apply_rows(run, "users", rows, lambda row: _import_user(row, existing))


def _import_devices(rows: Sequence[ValidRow], run: _ChunkRun) -> None:
    existing = _existing(Device, rows)
    users = _users_for({ref for row in rows if (ref := row.data.get("primary_user"))}, run.dry_run)
    _apply_rows(run, "devices", rows, lambda row: _import_device(row, existing, users))


def _import_groups(rows: Sequence[ValidRow], run: _ChunkRun) -> None:
    existing = _existing(Group, rows)
    user_refs: set[str] = set()
    device_refs: set[str] = set()
    for row in rows:
        refs = user_refs if _group_row_kind(row, existing) == GroupKind.USER else device_refs
        refs.update(row.data.get(MEMBERS_COLUMN, []))
    users = _users_for(user_refs, run.dry_run)
    devices = _devices_for(device_refs, run.dry_run)
    _apply_rows(run, "groups", rows, lambda row: _import_group(row, existing, users, devices))


_Importer: TypeAlias = Callable[[Sequence[ValidRow], _ChunkRun], None]
_IMPORTERS: Final[Mapping[ImportKind, _Importer]] = {
    "users": _import_users,
    "devices": _import_devices,
    "groups": _import_groups,
}


def import_chunk_apply(*, chunk: ImportChunk, dry_run: DryRun | None = None) -> ImportResult:
    """Apply one chunk's rows in one transaction (a savepoint inside the caller's), or, with ``dry_run``,
    apply them and roll them back; returns what its rows did (or would do).

    The directory observers hear of the chunk's changes once, when its transaction commits; those of a
    dry run are rolled back with it.
    """
    result = ImportResult(dry_run=dry_run is not None)
    with transaction.atomic():
        with directory_changes_batched() as changes:
            _IMPORTERS[chunk.kind](chunk.rows, _ChunkRun(result, dry_run, changes))
        if dry_run is not None:
            transaction.set_rollback(True)
    if dry_run is None:
        for kind, counts in result.counts.items():
            for outcome, rows in counts.as_dict().items():
                metrics.import_rows_counted(kind=kind, outcome=outcome, rows=rows)
    return result


def directory_import(*, kind: ImportKind, rows: ImportRows, dry_run: bool = False) -> ImportResult:
    """Create or update ``kind`` objects from ``rows``, by ``external_id``; see :mod:`directory.imports`.

    A row that fails is rolled back alone and reported in ``ImportResult.errors``; the others are applied
    chunk by chunk (``CERTPORTAL_IMPORT_CHUNK_SIZE`` rows per transaction), or, with ``dry_run``, rolled
    back after counting what they would do. Raises ``ImportFileInvalid`` (nothing applied) for unknown
    columns or a missing external_id column.
    """
    return directory_import_combined(sections={kind: rows}, dry_run=dry_run)


def directory_import_combined(
    *, sections: Mapping[ImportKind, ImportRows], dry_run: bool = False, chunk_size: int | None = None
) -> ImportResult:
    """:func:`directory_import` for several kinds at once, applied as users, devices, then groups."""
    plan = import_plan(sections, chunk_size=chunk_size or directory_settings().IMPORT_CHUNK_SIZE)
    result = ImportResult.planned(plan, dry_run=dry_run)
    trial = DryRun() if dry_run else None
    for chunk in plan.chunks:
        result.merge(import_chunk_apply(chunk=chunk, dry_run=trial))
    result.sort_errors()
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
