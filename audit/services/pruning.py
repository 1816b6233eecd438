"""The event log's retention job keeps the events' chain verifiable.

``eventlog.services.event_prune`` asks its observers (``CERTPORTAL_EVENT_PRUNE_OBSERVERS``) how far it may
delete. ``EventChainKeeper`` seals the events first, lets the job delete only sealed rows, and records the
anchor in the audit log, in one transaction: an audit entry (the connector events deleted through row N,
by the job's actor) whose ``additional_data`` holds N and its link. ``audit_verify`` starts the events'
chain there; the anchor entry is itself in the audit chain, which is never pruned. The links up to N go
with the anchor (the only links ever deleted); the rows go after it, in the job's batches, so a job cut
short leaves rows below the anchor, which the verification skips and the next run deletes.
"""

from __future__ import annotations

from django.db import transaction

from audit.choices import Action, Chain
from audit.models import ChainLink
from audit.selectors import ANCHOR_KEY, chain_anchor_get
from audit.services.entries import audit_entry_record
from audit.services.sealing import CHAINS, chain_lock, chain_seal
from eventlog.models import ConnectorEvent
from eventlog.services import EventPruneObserver

__all__ = ["EventChainKeeper"]


class EventChainKeeper(EventPruneObserver):
    def events_pruning(self, *, through_id: int) -> int:
        chain_seal(chain=Chain.EVENTS)
        with transaction.atomic():
            chain_lock(CHAINS[Chain.EVENTS])
            last = (
                ChainLink.objects.filter(chain=Chain.EVENTS, row_id__lte=through_id)
                .order_by("-row_id")
                .first()
            )
            if last is None:
                anchor = chain_anchor_get(chain=Chain.EVENTS)
                return min(through_id, anchor.row_id) if anchor is not None else 0
            audit_entry_record(
                model=ConnectorEvent,
                object_pk=str(last.row_id),
                object_repr=f"connector events through #{last.row_id} (retention)",
                action=Action.DELETE,
                additional_data={
                    ANCHOR_KEY: {
                        "chain": Chain.EVENTS.value,
                        "row_id": last.row_id,
                        "link_hash": last.link_hash,
                    }
                },
            )
            ChainLink.objects.events_drop_through(last.row_id)
        return int(last.row_id)
