"""Reads of the audit log: the entries as auditors see them, and the anchors of the events' chain."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Exists, OuterRef, QuerySet

from audit.choices import Action, Chain
from audit.models import AuditEntry, ChainLink

__all__ = ["ANCHOR_KEY", "ChainAnchor", "audit_entry_list", "chain_anchor_get"]

#: The key of ``AuditEntry.additional_data`` under which the event log's pruning records its anchor.
ANCHOR_KEY = "chain_anchor"
EVENT_OBJECT_TYPE = "eventlog.connectorevent"


def audit_entry_list() -> QuerySet[AuditEntry]:
    """Every entry, newest first, with whether the hash chain covers it yet (``sealed``)."""
    sealed = ChainLink.objects.filter(chain=Chain.AUDIT, row_id=OuterRef("pk"))
    entries: QuerySet[AuditEntry] = AuditEntry.objects.select_related("content_type").annotate(
        sealed=Exists(sealed)
    )
    return entries


@dataclass(frozen=True)
class ChainAnchor:
    """Where the events' chain starts after a pruning: the last pruned row and its link, recorded by the
    audit entry ``entry_id``.
    """

    entry_id: int
    row_id: int
    link_hash: str


def chain_anchor_get(*, chain: Chain) -> ChainAnchor | None:
    """The latest anchor of ``chain``; only the events' chain is ever pruned, so only it has anchors."""
    if chain != Chain.EVENTS:
        return None
    entry = (
        AuditEntry.objects.filter(
            object_type=EVENT_OBJECT_TYPE,
            action=Action.DELETE,
            **{f"additional_data__{ANCHOR_KEY}__chain": chain.value},
        )
        .order_by("-id")
        .first()
    )
    if entry is None:
        return None
    anchor = entry.additional_data[ANCHOR_KEY]
    return ChainAnchor(entry_id=entry.pk, row_id=int(anchor["row_id"]), link_hash=str(anchor["link_hash"]))
