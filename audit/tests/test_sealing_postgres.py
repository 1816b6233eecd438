"""On PostgreSQL, sealing waits for open transactions: a row written by a transaction that is still open is
invisible, and sealing the rows after it would leave it below the chain's end when it commits.
"""

from __future__ import annotations

import threading

import pytest

from django.db import connection, transaction

from audit.choices import Chain
from audit.models import ChainLink
from audit.services.sealing import chain_seal
from audit.services.verification import chain_verify
from ca.tests.pki import require_postgresql
from eventlog.choices import EventId
from eventlog.services import event_record

pytestmark = [pytest.mark.postgres]


def test_rows_after_an_open_transaction_wait_for_it(transactional_db, settings):
    require_postgresql()
    settings.CERTPORTAL_AUDIT_SEAL_DELAY = 0
    written, release = threading.Event(), threading.Event()
    ids: list[int] = []

    def slow_writer() -> None:
        try:
            with transaction.atomic():
                event = event_record(event_id=EventId.DEVICE_CHECK_IN, message="slow")
                assert event is not None
                ids.append(event.pk)
                written.set()
                release.wait(timeout=30)
        finally:
            connection.close()

    thread = threading.Thread(target=slow_writer)
    thread.start()
    try:
        assert written.wait(timeout=30)
        later = event_record(event_id=EventId.DEVICE_CHECK_IN, message="committed after the slow one began")
        assert later is not None
        assert later.pk > ids[0]

        assert chain_seal(chain=Chain.EVENTS) == {"events": 0}  # the committed row waits too
    finally:
        release.set()
        thread.join(timeout=30)

    assert chain_seal(chain=Chain.EVENTS) == {"events": 2}
    assert set(ChainLink.objects.filter(chain=Chain.EVENTS).values_list("row_id", flat=True)) == {
        ids[0],
        later.pk,
    }
    assert chain_verify(chain=Chain.EVENTS).intact
