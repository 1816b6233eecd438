"""How many SQL statements a PKCSReq enrollment costs, on the web side and on the CA side.

The bounds are what the hot path reaches (issue 13, docs/benchmarks.md): a change that adds a statement
to either side fails here, and must either remove one elsewhere or raise the bound with a reason. Every
statement counts, transaction control included (``BEGIN``, ``SAVEPOINT``, ``COMMIT``): each is a round
trip to PostgreSQL, and every commit a WAL flush. The CA side is what runs in the ``ca`` task (in
process here, as in the embedded default: Celery's task_prerun/task_postrun mark it).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from celery.signals import task_postrun, task_prerun
from django.db import connection
from django.test.utils import CaptureQueriesContext

from ca.choices import CertificateRequestStatus
from ca.models import IssuedCertificate
from enrollment import scep
from enrollment.choices import TransactionStatus
from enrollment.models import ScepTransaction
from enrollment.tests.fixtures import Device
from eventlog.choices import EventId
from eventlog.models import ConnectorEvent

pytestmark = pytest.mark.django_db(transaction=True)

#: The statements of one PKCSReq with a static challenge, answered SUCCESS at once.
WEB_STATEMENTS = 17
#: ... of which commits (a WAL flush each): the request, the hand-over to the CA queue, the answer.
WEB_COMMITS = 3
#: The CA worker's: one transaction (lock the request, the certificate, the request's status, the audit
#: entries and the 20400 event), no savepoint.
CA_STATEMENTS = 9
CA_COMMITS = 1


@contextmanager
def _sides() -> Iterator[tuple[list[dict[str, Any]], list[dict[str, Any]]]]:
    """The statements of the web side and of the CA task, apart."""
    web: list[dict[str, Any]] = []
    ca: list[dict[str, Any]] = []
    marks: list[int] = []

    def started(**_: Any) -> None:
        marks.append(len(context.captured_queries))

    def finished(**_: Any) -> None:
        marks.append(len(context.captured_queries))

    task_prerun.connect(started, weak=False, dispatch_uid="test_query_counts.started")
    task_postrun.connect(finished, weak=False, dispatch_uid="test_query_counts.finished")
    try:
        with CaptureQueriesContext(connection) as context:
            yield web, ca
    finally:
        task_prerun.disconnect(dispatch_uid="test_query_counts.started")
        task_postrun.disconnect(dispatch_uid="test_query_counts.finished")
    assert len(marks) == 2, marks  # one CA task
    queries = context.captured_queries
    web.extend(queries[: marks[0]] + queries[marks[1] :])
    ca.extend(queries[marks[0] : marks[1]])


def _commits(queries: list[dict[str, Any]]) -> int:
    return sum(1 for query in queries if query["sql"].strip().upper() == "COMMIT")


def _listing(queries: list[dict[str, Any]]) -> str:
    return "\n".join(f"{n}: {query['sql'][:150]}" for n, query in enumerate(queries))


def test_pkcs_req_statements(scep_client, device_keys):
    scep_client.enroll(Device.create(device_keys[0], "warm-up"))  # per-process caches (RA key, verifiers)
    device = Device.create(device_keys[1], "counted")
    with _sides() as (web, ca):
        result = scep_client.enroll(device)
    assert result.status is scep.PkiStatus.SUCCESS, result.fail_info_text
    # Everything is still persisted: the transaction, the CA request, the certificate and the events.
    record = ScepTransaction.objects.get(transaction_id=result.transaction_id)
    assert record.status == TransactionStatus.SUCCESS
    issued = IssuedCertificate.objects.select_related("request").get(scep_transactions=record)
    assert issued.request is not None
    assert issued.request.status == CertificateRequestStatus.ISSUED
    events = set(
        ConnectorEvent.objects.filter(transaction_id=result.transaction_id).values_list("event_id", flat=True)
    )
    assert {EventId.CRP_VERIFY_SUCCESS, EventId.CRP_NOTIFY_SUCCESS} <= events
    assert ConnectorEvent.objects.filter(event_id=EventId.DOWNLOAD_SUCCESS, serial=issued.serial).exists()
    assert len(web) <= WEB_STATEMENTS, _listing(web)
    assert _commits(web) <= WEB_COMMITS, _listing(web)
    assert len(ca) <= CA_STATEMENTS, _listing(ca)
    assert _commits(ca) <= CA_COMMITS, _listing(ca)
