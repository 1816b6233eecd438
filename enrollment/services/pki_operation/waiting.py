"""How long a PKIOperation waits for the CA worker before it answers PENDING: a bounded waiting pool.

An enrollment waits up to ``CERTPORTAL_SCEP_ISSUE_WAIT`` seconds (or its service's own wait) for the CA
worker, so that a device gets its certificate in one round trip when the CA is quick. A wait holds one of
the web process's threads (gunicorn: ``GUNICORN_THREADS``, 4). While the CA was slow or down, every thread
was held for the full wait, and GetCACaps, check-in and the health checks queued behind them for seconds.

The policy now:

* at most ``CERTPORTAL_SCEP_MAX_WAITING`` requests per web process wait at once (default 2, below the
  4 threads, so that the others keep answering); a request that finds every waiting slot taken waits up to
  ``CERTPORTAL_SCEP_SLOT_WAIT`` (0.25 s) for one to come free, which under load with a quick CA worker it
  does, and answers PENDING otherwise: the CA is slow, the device polls (its request is queued and
  committed either way). Measured: without that short wait, 11 % of the enrollments at 16 concurrent
  clients were answered PENDING by a healthy production shape (docs/benchmarks.md);
* no request waits when no CA worker can sign (no ready heartbeat within three intervals,
  ``ca.worker_status``): it could only wait the full time; that answer is kept for one heartbeat interval.
  Not in the embedded default, where tasks run in the request (there is nothing to wait for).

A PENDING answer is always correct in SCEP: the device polls with CertPoll (or retransmits the same
PKCSReq), and is answered from the stored transaction.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from celery import current_app

from ca.conf import ca_settings
from ca.worker_status import worker_statuses_read
from enrollment.conf import enrollment_settings

__all__ = ["wait_slot"]

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_slots: threading.BoundedSemaphore | None = None
_slots_size = -1
_ready_until = 0.0  # monotonic time until which "a CA worker is ready" is believed without asking again
_ready = True


def _semaphore() -> threading.BoundedSemaphore | None:
    global _slots, _slots_size
    size = enrollment_settings().SCEP_MAX_WAITING
    with _lock:
        if size != _slots_size:
            _slots, _slots_size = (threading.BoundedSemaphore(size) if size > 0 else None), size
        return _slots


def _ca_worker_ready() -> bool:
    """A CA worker that can sign said so recently (asked at most once per heartbeat interval)."""
    global _ready, _ready_until
    if current_app.conf.task_always_eager:
        return True
    now = time.monotonic()
    interval = ca_settings().CA_HEARTBEAT_INTERVAL
    with _lock:
        if now < _ready_until:
            return _ready
    try:
        statuses = worker_statuses_read()
        ready = any(status.ready and status.age() <= 3 * interval for status in statuses)
    except Exception as exc:  # the cache is down: wait as before (the broker may still work)
        logger.debug("CA worker heartbeats not readable: %s", exc)
        ready = True
    with _lock:
        _ready, _ready_until = ready, now + interval
    return ready


@contextmanager
def wait_slot(timeout: float) -> Iterator[float]:
    """The wait this request may spend on the CA worker: ``timeout`` less the time spent waiting for a slot,
    or 0 (answer PENDING at once) when no slot came free within ``CERTPORTAL_SCEP_SLOT_WAIT`` or no CA worker
    can sign. The slot is held for the block.
    """
    if timeout <= 0:
        yield 0.0
        return
    if not _ca_worker_ready():
        yield 0.0
        return
    slots = _semaphore()
    if slots is None:
        yield 0.0
        return
    wait = timeout
    if not slots.acquire(blocking=False):
        started = time.monotonic()
        patience = min(enrollment_settings().SCEP_SLOT_WAIT, timeout)
        if patience <= 0 or not slots.acquire(timeout=patience):
            yield 0.0
            return
        wait = max(timeout - (time.monotonic() - started), 0.0)
    try:
        yield wait
    finally:
        slots.release()
