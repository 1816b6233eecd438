"""Verifying the hash chains (``manage.py audit_verify``): recompute every link from the rows as they are.

Rows and links are read side by side in id order, from the chain's start (the genesis, or for the event
log the anchor its last pruning recorded) to the last link. Each problem names its row:

- ``removed``: a sealed row is gone (its link is still there);
- ``changed``: a row's content no longer gives its link (the row was changed, or sealed rows just before
  it were removed together with their links);
- ``inserted``: a row below the chain's end that the chain does not hold (inserted out of order, or its
  link was removed).

After a problem the check goes on from the stored link, so that each tampered row is named once. Rows
after the last link are not yet sealed: they are counted, not verified. On PostgreSQL the whole check
reads one snapshot (REPEATABLE READ), so sealing and pruning may run meanwhile.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction

from audit.chain import FIELDS, GENESIS, canonical, link
from audit.choices import Chain
from audit.models import ChainLink
from audit.selectors import ChainAnchor, chain_anchor_get
from audit.services.sealing import CHAINS, ChainSpec

__all__ = ["ChainProblem", "ChainReport", "chain_verify", "chains_verify"]

#: Rows (and links) read per query.
READ_BATCH = 2000


@dataclass(frozen=True)
class ChainProblem:
    chain: Chain
    row_id: int
    kind: str
    message: str


@dataclass
class ChainReport:
    chain: Chain
    anchor: ChainAnchor | None = None
    sealed: int = 0
    head_row_id: int | None = None
    head: str = ""
    unsealed: int = 0
    first_unsealed_id: int | None = None
    problems: list[ChainProblem] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return not self.problems


def chains_verify(*, chain: Chain | None = None) -> list[ChainReport]:
    """Verify ``chain`` (both by default), in one snapshot."""
    chains = list(CHAINS) if chain is None else [chain]
    if connection.vendor == "postgresql" and not connection.in_atomic_block:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            return [chain_verify(chain=name) for name in chains]
    return [chain_verify(chain=name) for name in chains]


def chain_verify(*, chain: Chain) -> ChainReport:
    spec = CHAINS[chain]
    anchor = chain_anchor_get(chain=chain)
    report = ChainReport(chain=chain, anchor=anchor)
    start_id, previous = (anchor.row_id, anchor.link_hash) if anchor else (0, GENESIS[chain])
    last = ChainLink.objects.filter(chain=chain, row_id__gt=start_id).order_by("-row_id").first()
    end_id = last.row_id if last is not None else start_id
    all_fields = sorted({name for version in FIELDS[chain].values() for name in version})
    rows = _rows(spec, all_fields, start_id, end_id)
    row = next(rows, None)
    previous_id = start_id
    for chain_link in _links(chain, start_id, end_id):
        while row is not None and row["id"] < chain_link.row_id:
            report.problems.append(
                ChainProblem(
                    chain,
                    row["id"],
                    "inserted",
                    f"row #{row['id']} is not in the chain: inserted out of order, or its link was removed",
                )
            )
            row = next(rows, None)
        if row is None or row["id"] > chain_link.row_id:
            report.problems.append(
                ChainProblem(chain, chain_link.row_id, "removed", f"row #{chain_link.row_id} was removed")
            )
        else:
            fields = FIELDS[chain].get(chain_link.version)
            if fields is None:
                message = (
                    f"row #{row['id']} was sealed with an unknown field list (version {chain_link.version})"
                )
                report.problems.append(ChainProblem(chain, row["id"], "changed", message))
            elif link(previous, canonical(row, fields)) != chain_link.link_hash:
                report.problems.append(
                    ChainProblem(
                        chain,
                        row["id"],
                        "changed",
                        f"row #{row['id']} does not match its seal: it was changed, or sealed rows between "
                        f"#{previous_id} and #{row['id']} were removed with their links",
                    )
                )
            row = next(rows, None)
        previous, previous_id = chain_link.link_hash, chain_link.row_id
        report.sealed += 1
    report.head_row_id, report.head = (end_id, previous) if report.sealed else (None, "")
    unsealed = spec.model._default_manager.filter(pk__gt=end_id)
    report.unsealed = unsealed.count()
    report.first_unsealed_id = unsealed.order_by("pk").values_list("pk", flat=True).first()
    return report


def _links(chain: Chain, start_id: int, end_id: int) -> Iterator[ChainLink]:
    after = start_id
    while True:
        batch = list(
            ChainLink.objects.filter(chain=chain, row_id__gt=after, row_id__lte=end_id).order_by("row_id")[
                :READ_BATCH
            ]
        )
        yield from batch
        if len(batch) < READ_BATCH:
            return
        after = batch[-1].row_id


def _rows(spec: ChainSpec, fields: list[str], start_id: int, end_id: int) -> Iterator[dict[str, Any]]:
    after = start_id
    while True:
        batch = list(
            spec.model._default_manager.filter(pk__gt=after, pk__lte=end_id)
            .order_by("pk")
            .values(*fields)[:READ_BATCH]
        )
        yield from batch
        if len(batch) < READ_BATCH:
            return
        after = batch[-1]["id"]
