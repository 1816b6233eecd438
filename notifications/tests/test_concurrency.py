"""Two runs at once send each notice once: the claims' unique constraints make the second run's insert
wait for the first run's transaction (held open while its message is sent), then fail.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest

from django.core import mail
from django.db import connection

from ca.tests.pki import require_postgresql
from notifications.models import SentNotice
from notifications.services import NotifyResult, certificate_expiry_notify, enrollment_failure_notify
from profiles.choices import CertificateState
from profiles.services.states import device_state_set


def _at_once(function: Callable[[], NotifyResult], runs: int = 2) -> list[NotifyResult]:
    barrier = threading.Barrier(runs)

    def run(_: int) -> NotifyResult:
        try:
            barrier.wait(timeout=30)
            return function()
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=runs) as pool:
        return list(pool.map(run, range(runs)))


@pytest.fixture
def three_soon(transactional_db, certificate) -> set[str]:
    """The serials of three certificates expiring in 10 to 12 days (issued in the set-up: see ``soon``)."""
    return {certificate(f"soon-{n}", days=10 + n).serial for n in range(3)}


@pytest.mark.postgres
def test_concurrent_expiry_runs_do_not_send_twice(transactional_db, emails, webhook, three_soon, caplog):
    require_postgresql()
    made = three_soon
    webhook.delay = 1.0  # the first run holds its claims while the receiver takes its time

    with caplog.at_level(logging.INFO, logger="notifications.services"):
        results = _at_once(certificate_expiry_notify)

    # The second run selected the same items, waited on the unique index, and lost: the race happened.
    assert "a concurrent run claimed some of these items first" in caplog.text
    assert len(webhook.received) == 1
    assert len(mail.outbox) == 1
    assert sorted(result.delivered["webhook"] for result in results) == [0, 3]
    assert sorted(result.delivered["email"] for result in results) == [0, 3]
    assert all(result.failed == {} for result in results)
    assert SentNotice.objects.count() == 6
    assert {word for word in mail.outbox[0].body.split() if word in made} == made


@pytest.mark.postgres
def test_concurrent_failure_runs_do_not_send_twice(transactional_db, webhook, device, scep_profile, caplog):
    require_postgresql()
    device_state_set(device=device, profile=scep_profile, state=CertificateState.FAILED, reason="no IMEI")
    webhook.delay = 1.0

    with caplog.at_level(logging.INFO, logger="notifications.services"):
        results = _at_once(enrollment_failure_notify, runs=3)

    assert caplog.text.count("a concurrent run claimed some of these items first") == 2
    assert len(webhook.received) == 1
    assert sorted(result.delivered["webhook"] for result in results) == [0, 0, 1]
    assert SentNotice.objects.count() == 1


@pytest.mark.postgres
def test_a_run_waiting_on_a_failed_run_sends_in_its_place(transactional_db, webhook, certificate):
    require_postgresql()
    certificate("soon", days=10)
    webhook.delay = 1.0
    webhook.answers.append(500)  # whichever run sends first fails; the other one must then send

    results = _at_once(certificate_expiry_notify)

    assert len(webhook.received) == 2
    assert sorted(result.delivered["webhook"] for result in results) == [0, 1]
    assert sum(bool(result.failed) for result in results) == 1
    assert SentNotice.objects.count() == 1
