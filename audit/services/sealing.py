"""Sealing: extending the hash chains over the audit log and the connector's event log.

Rows are written freely (nothing on the enrollment path waits for a chain head). The beat job
(``audit.jobs.audit_seal_task``, every ``CERTPORTAL_AUDIT_SEAL_INTERVAL`` seconds) and
``manage.py audit_verify --seal`` walk each table's rows after the chain's last link in id order and record
one ``ChainLink`` per row, ``SHA-256(previous link || canonical JSON of the row)`` (``audit.chain``), in
batches of ``SEAL_BATCH``, each in its own transaction.

A row is sealed only once it is ``CERTPORTAL_AUDIT_SEAL_DELAY`` seconds old and, on PostgreSQL, older (by
as much) than the oldest open transaction that has written anything: the rows of an open transaction are
invisible, and sealing past them would leave them below the chain's end when they commit (what an
insertion out of order looks like). Sealing stops at the first row that is too young, so the chain is
always a prefix of the table in id order. On SQLite, writers are serialised and the seal's own
``BEGIN IMMEDIATE`` waits for them. One sealer per chain at a time: a PostgreSQL advisory lock (SQLite's
write lock). The sealer must see the other sessions' transactions in ``pg_stat_activity``: the same
database role as the other processes, or one with ``pg_read_all_stats``.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from django.db import connection, models, transaction
from django.utils import timezone

from audit.chain import CURRENT_VERSION, FIELDS, GENESIS, canonical, link
from audit.choices import Chain
from audit.conf import audit_settings
from audit.models import AuditEntry, ChainLink
from audit.selectors import chain_anchor_get
from eventlog.models import ConnectorEvent

__all__ = [
    "CHAINS",
    "SEAL_BATCH",
    "SEAL_RUN_LIMIT",
    "ChainSpec",
    "chain_lock",
    "chain_seal",
    "chain_start",
    "seal_horizon",
]

logger = logging.getLogger("audit")

#: Rows sealed per transaction.
SEAL_BATCH = 2000
#: Rows sealed per chain by one run of the beat job: a first run over a large existing log stays well within
#: the task's time limit, and the next runs go on from there.
SEAL_RUN_LIMIT = 100_000


@dataclass(frozen=True)
class ChainSpec:
    chain: Chain
    model: type[models.Model]
    #: The column that says when the row was written (a default, set in Python just before the INSERT).
    time_field: str
    lock_key: int


CHAINS: dict[Chain, ChainSpec] = {
    Chain.AUDIT: ChainSpec(Chain.AUDIT, AuditEntry, "timestamp", 0x6365_7274_0001),
    Chain.EVENTS: ChainSpec(Chain.EVENTS, ConnectorEvent, "created_at", 0x6365_7274_0002),
}


def chain_seal(
    *, chain: Chain | None = None, now: dt.datetime | None = None, limit: int | None = None
) -> dict[str, int]:
    """Seal what can be sealed of ``chain`` (both by default), at most ``limit`` rows each (None: all);
    how many rows each chain got.
    """
    sealed: dict[str, int] = {}
    for spec in CHAINS.values() if chain is None else (CHAINS[chain],):
        sealed[spec.chain.value] = _chain_seal(spec, now=now or timezone.now(), limit=limit)
    return sealed


def _chain_seal(spec: ChainSpec, *, now: dt.datetime, limit: int | None) -> int:
    fields = FIELDS[spec.chain][CURRENT_VERSION[spec.chain]]
    total = 0
    head: tuple[int, str] | None = None
    while True:
        with transaction.atomic():
            chain_lock(spec)
            after_id, previous = chain_start(spec.chain)
            horizon = seal_horizon(now)
            size = SEAL_BATCH if limit is None else min(SEAL_BATCH, limit - total)
            rows = list(
                spec.model._default_manager.filter(pk__gt=after_id).order_by("pk").values(*fields)[:size]
            )
            links: list[ChainLink] = []
            for row in rows:
                if row[spec.time_field] >= horizon:
                    break
                previous = link(previous, canonical(row, fields))
                links.append(
                    ChainLink(
                        chain=spec.chain,
                        row_id=row["id"],
                        link_hash=previous,
                        version=CURRENT_VERSION[spec.chain],
                        sealed_at=now,
                    )
                )
            ChainLink.objects.bulk_create(links)
        if links:
            head = (links[-1].row_id, links[-1].link_hash)
        total += len(links)
        if len(links) < size or total == limit:
            break
    if head is not None:
        # The head goes to the process's log too: a copy outside the database to compare the chain with.
        logger.info("sealed %s %s row(s); head #%s %s", total, spec.chain.value, *head)
    return total


def chain_start(chain: Chain) -> tuple[int, str]:
    """The chain's end: the last sealed row id and its link (the anchor after a pruning, or the start)."""
    last = (
        ChainLink.objects.filter(chain=chain).order_by("-row_id").values_list("row_id", "link_hash").first()
    )
    anchor = chain_anchor_get(chain=chain)
    if last is not None and (anchor is None or last[0] > anchor.row_id):
        return int(last[0]), str(last[1])
    if anchor is not None:
        return anchor.row_id, anchor.link_hash
    return 0, GENESIS[chain]


def chain_lock(spec: ChainSpec) -> None:
    """One sealer (or pruner) per chain: held until the transaction ends."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [spec.lock_key])


def seal_horizon(now: dt.datetime) -> dt.datetime:
    """Rows written before this moment can be sealed (see the module's docstring)."""
    delay = dt.timedelta(seconds=audit_settings().AUDIT_SEAL_DELAY)
    horizon = now - delay
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT min(xact_start) FROM pg_stat_activity WHERE datname = current_database() "
                "AND backend_xid IS NOT NULL AND pid <> pg_backend_pid()"
            )
            oldest = cursor.fetchone()[0]
        if oldest is not None:
            horizon = min(horizon, oldest - delay)
    return horizon
