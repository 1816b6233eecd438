"""What an import did (or, with ``dry_run``, would do): counts per kind and the rows not applied."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from directory.imports.plan import ImportPlan
from directory.imports.rows import KINDS, ImportKind, RowError

__all__ = ["ImportCounts", "ImportResult"]


@dataclass
class ImportCounts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0

    def add(self, other: ImportCounts) -> None:
        self.created += other.created
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.failed += other.failed

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

    @classmethod
    def planned(cls, plan: ImportPlan, *, dry_run: bool = False) -> ImportResult:
        """The result before any row is applied: every kind of the plan, with its rows refused already."""
        result = cls(dry_run=dry_run, errors=list(plan.invalid))
        for kind in plan.kinds:
            result.counts_for(kind).failed = plan.invalid_count(kind)
        return result

    def counts_for(self, kind: ImportKind) -> ImportCounts:
        return self.counts.setdefault(kind, ImportCounts())

    def merge(self, other: ImportResult) -> None:
        """Add ``other``'s counts and errors (those of one more chunk) to these."""
        for kind, counts in other.counts.items():
            self.counts_for(kind).add(counts)
        self.errors.extend(other.errors)

    def sort_errors(self) -> None:
        self.errors.sort(key=lambda error: (KINDS.index(error.kind), error.row))

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
