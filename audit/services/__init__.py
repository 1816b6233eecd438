"""Every write of the audit log, by concern:

- ``entries``: an audit entry recorded explicitly (what django-auditlog's signals cannot see: a bulk
  statement, the pruning of the event log);
- ``sealing``: the hash chains over the audit log and the event log, extended by the beat job;
- ``verification``: ``manage.py audit_verify``'s reading of the chains (writes nothing);
- ``pruning``: the event log's retention job keeps the events' chain verifiable (an anchor).

Import from the submodules; this package re-exports nothing.
"""
