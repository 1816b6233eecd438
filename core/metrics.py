"""The Prometheus counters and histograms of what happens, incremented where it happens.

Every app records through these few functions (the CA, enrollment and profiles import ``core``, never the
project), so that the metric names, labels and buckets are in one place. Gauges of state (certificates per
CA and template, CRL age, the ``ca`` queue's length) are not here: they are computed from the database and
the broker when ``/metrics`` is scraped (``portal.metrics``), so they cannot drift from the truth.

Several processes: prometheus-client's multi-process mode, switched on by ``PROMETHEUS_MULTIPROC_DIR`` in
the environment before this module is imported (``portal/gunicorn.conf.py`` and ``portal.celery`` set it):
each process writes its values to files there, and a scrape adds them up. Without it (the test suite, a
management command) the values live in this process.

Label values are bounded by what the code passes (names of message types, statuses, reasons), never by
what a client sends: a client cannot create series.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

__all__ = [
    "challenge_issued",
    "challenge_refused",
    "challenge_used",
    "import_job_finished",
    "import_rows_counted",
    "ocsp_response_counted",
    "scep_operation_counted",
    "task_finished",
    "task_started",
]

_SECONDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)

SCEP_OPERATIONS = Counter(
    "certportal_scep_operations",
    "SCEP requests answered, by operation, PKIOperation messageType, pkiStatus and failInfo",
    ["service", "operation", "message_type", "status", "fail_info"],
)
PKI_OPERATION_SECONDS = Histogram(
    "certportal_scep_pki_operation_seconds",
    "Time to answer a PKIOperation (including the wait for the CA worker), by messageType and pkiStatus",
    ["message_type", "status"],
    buckets=_SECONDS,
)
CHALLENGES_ISSUED = Counter(
    "certportal_challenges_issued", "One-time SCEP challenges created at device check-in"
)
CHALLENGES_USED = Counter(
    "certportal_challenges_used", "One-time SCEP challenges consumed by an accepted request"
)
CHALLENGES_REFUSED = Counter(
    "certportal_challenges_refused",
    "SCEP requests whose one-time challenge was refused, by the validator's reason",
    ["reason"],
)
OCSP_RESPONSES = Counter(
    "certportal_ocsp_responses",
    "OCSP responses, by responseStatus and, for successful ones, the certificate status",
    ["authority", "status"],
)
IMPORT_ROWS = Counter(
    "certportal_import_rows",
    "Directory import rows applied, by kind (users, devices, groups) and outcome",
    ["kind", "outcome"],
)
IMPORT_JOBS = Counter("certportal_import_jobs", "Directory import jobs finished, by status", ["status"])
TASK_WAIT_SECONDS = Histogram(
    "certportal_task_wait_seconds",
    "Time a Celery task waited between its publication and its start, by queue and task",
    ["queue", "task"],
    buckets=_SECONDS,
)
TASK_RUN_SECONDS = Histogram(
    "certportal_task_run_seconds",
    "Time a Celery task ran, by queue, task and final state",
    ["queue", "task", "state"],
    buckets=_SECONDS,
)


def scep_operation_counted(
    *,
    service: str,
    operation: str,
    message_type: str = "",
    status: str = "",
    fail_info: str = "",
    seconds: float | None = None,
) -> None:
    """A SCEP request was answered; a PKIOperation's time goes to the latency histogram too."""
    SCEP_OPERATIONS.labels(service, operation, message_type, status, fail_info).inc()
    if seconds is not None:
        PKI_OPERATION_SECONDS.labels(message_type, status).observe(seconds)


def challenge_issued() -> None:
    CHALLENGES_ISSUED.inc()


def challenge_used() -> None:
    CHALLENGES_USED.inc()


def challenge_refused(*, reason: str) -> None:
    CHALLENGES_REFUSED.labels(reason or "unknown").inc()


def ocsp_response_counted(*, authority: str, status: str) -> None:
    OCSP_RESPONSES.labels(authority, status).inc()


def import_rows_counted(*, kind: str, outcome: str, rows: int) -> None:
    if rows > 0:
        IMPORT_ROWS.labels(kind, outcome).inc(rows)


def import_job_finished(*, status: str) -> None:
    IMPORT_JOBS.labels(status).inc()


def task_started(*, queue: str, task: str, waited: float | None) -> None:
    """A task started; ``waited``: seconds since it was published, when the publisher said when."""
    if waited is not None and waited >= 0:
        TASK_WAIT_SECONDS.labels(queue, task).observe(waited)


def task_finished(*, queue: str, task: str, state: str, seconds: float) -> None:
    TASK_RUN_SECONDS.labels(queue, task, state).observe(seconds)
