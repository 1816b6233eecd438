"""What an import will do, before any database work: its rows checked and cut into chunks. Pure: no ORM.

:func:`import_plan` numbers and checks the rows of each kind (:func:`~directory.imports.rows.validate_rows`:
bad values, duplicate ``external_id``), keeps the row errors, and cuts the valid rows into chunks of at
most ``chunk_size`` rows of one kind, in the order a combined import applies them (users, devices,
groups). Each chunk is applied in a database transaction of its own
(:func:`directory.services.imports.import_chunk_apply`), so no transaction spans the whole import.
The plan depends only on the rows: planning the same file twice gives the same chunks, which is how a
job that was interrupted resumes after its last committed chunk.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

from directory.imports.files import source_rows
from directory.imports.rows import KINDS, ImportKind, RowError, SourceRow, ValidRow, validate_rows

__all__ = ["ImportChunk", "ImportPlan", "ImportRows", "import_plan"]

#: Rows as a caller gives them: plain mappings (numbered from 1) or rows read from a file.
ImportRows: TypeAlias = Sequence[Mapping[str, Any] | SourceRow]


@dataclass(frozen=True)
class ImportChunk:
    """Valid rows of one kind, applied in one transaction."""

    kind: ImportKind
    rows: tuple[ValidRow, ...]


@dataclass(frozen=True)
class ImportPlan:
    #: The kinds the import holds, in the order they are applied.
    kinds: tuple[ImportKind, ...]
    rows_total: int
    #: Rows refused before any database work, by kind and row.
    invalid: tuple[RowError, ...]
    chunks: tuple[ImportChunk, ...]

    def invalid_count(self, kind: ImportKind) -> int:
        return sum(1 for error in self.invalid if error.kind == kind)


def import_plan(sections: Mapping[ImportKind, ImportRows], *, chunk_size: int) -> ImportPlan:
    """Check the rows of every kind in ``sections`` and cut the valid ones into chunks.

    Raises ``ImportFileInvalid`` for unknown columns or a missing ``external_id`` column, ``ValueError``
    for an unknown kind.
    """
    if chunk_size < 1:
        raise ValueError("chunk_size must be at least 1")
    unknown = set(sections) - set(KINDS)
    if unknown:
        raise ValueError(f"unknown import kinds: {', '.join(sorted(unknown))}")
    kinds = tuple(kind for kind in KINDS if kind in sections)
    prepared = {kind: source_rows(kind, sections[kind]) for kind in kinds}
    invalid: list[RowError] = []
    chunks: list[ImportChunk] = []
    for kind in kinds:
        validation = validate_rows(kind, prepared[kind])
        invalid.extend(validation.errors)
        valid = validation.valid
        chunks.extend(
            ImportChunk(kind, tuple(valid[start : start + chunk_size]))
            for start in range(0, len(valid), chunk_size)
        )
    return ImportPlan(
        kinds=kinds,
        rows_total=sum(len(rows) for rows in prepared.values()),
        invalid=tuple(invalid),
        chunks=tuple(chunks),
    )
