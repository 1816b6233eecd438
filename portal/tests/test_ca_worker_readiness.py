"""A CA worker that cannot sign says so within seconds and takes no task; readiness tells the truth.

Real processes (``test_topology``'s gunicorn and Celery CA worker on PostgreSQL and Redis). The worker is
started with a wrong CA key passphrase: it used to report ready, accept every task and fail it in its own
log only, while the event log said "PENDING: waiting for the CA" and health said "ok".
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from ca.choices import CertificateRequestStatus
from ca.models import CertificateRequest, IssuedCertificate
from enrollment import scep
from eventlog.choices import DiagnosticCode, EventId, EventLevel
from eventlog.models import ConnectorEvent
from portal.tests import test_topology
from portal.tests.test_topology import CHALLENGE, Topology

pytestmark = [
    pytest.mark.external,
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True),
]

DEADLINE = 30.0


@pytest.fixture
def topology(pki, tmp_path: Path) -> Iterator[Topology]:
    yield from test_topology._topology(pki, tmp_path, test_topology._require_services())


def _until(condition: Callable[[], object], what: str, last: Callable[[], object] = lambda: "") -> object:
    """Poll ``condition`` until it gives something true (a deadline, no fixed sleep); ``last`` describes
    the state for the failure message.
    """
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        value = condition()
        if value is not None and value is not False:  # not truthiness: a 503 Response is falsy
            return value
        time.sleep(0.2)
    raise AssertionError(f"{what}: not within {DEADLINE} s {last()}")


def _readiness(topology: Topology) -> requests.Response:
    return requests.get(f"{topology.url}/readyz", timeout=10)


def test_readiness_is_ready_with_a_worker_that_can_sign(topology: Topology) -> None:
    response = _until(lambda: (r := _readiness(topology)).status_code == 200 and r, "ready")
    assert isinstance(response, requests.Response)
    checks = response.json()["checks"]
    assert {name for name, check in checks.items() if check["ok"]} == {
        "database", "cache", "broker", "ca_worker", "ca_queue",
    }  # fmt: skip
    (worker,) = checks["ca_worker"]["workers"]
    assert worker["ready"] is True
    assert worker["problems"] == []
    assert requests.get(f"{topology.url}/healthz", timeout=10).status_code == 200


def test_a_wrong_ca_passphrase_is_visible_at_once_and_no_task_is_taken_until_a_worker_can_sign(
    topology: Topology, pki
) -> None:
    topology.ca_worker.stop()
    topology.start_ca_worker(passphrase="not-the-ca-key-passphrase")

    # The event log has it, with the connector's code, within seconds of the start.
    event = _until(
        lambda: ConnectorEvent.objects.filter(
            event_id=EventId.STARTED_CONNECTOR_SERVICE, level=EventLevel.ERROR
        ).first(),
        "the not-ready event",
    )
    assert isinstance(event, ConnectorEvent)
    assert event.diagnostic_code == DiagnosticCode.PKCS_ISSUE_CA_UNAVAILABLE
    assert pki.issuing.slug in event.message
    assert "CERTPORTAL_CA_KEY_PASSPHRASE" in event.message
    assert "cannot sign" in topology.ca_worker.log.read_text(errors="replace")

    # Readiness says why; liveness is still fine (the web process is alive).
    answers: list[requests.Response] = []

    def not_ready_with_the_worker() -> requests.Response | None:
        answers.append(_readiness(topology))
        workers = answers[-1].json()["checks"]["ca_worker"].get("workers")
        return answers[-1] if answers[-1].status_code == 503 and workers else None

    response = _until(
        not_ready_with_the_worker,
        "readiness naming the worker",
        lambda: f"{answers[-1].status_code} {answers[-1].text}",
    )
    assert isinstance(response, requests.Response)
    assert response.headers["Retry-After"] == "10"
    ca_worker = response.json()["checks"]["ca_worker"]
    assert ca_worker["ok"] is False
    assert ca_worker["detail"] == "no CA worker can sign"
    (worker,) = ca_worker["workers"]
    assert worker["ready"] is False
    assert any(problem.startswith(f"{pki.issuing.slug}: ") for problem in worker["problems"])

    # An enrollment now is PENDING and its task stays queued: the worker does not take it to fail it.
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "readiness-pending")])
    client = scep.ScepClient(f"{topology.url}/scep/topology", timeout=60)
    csr = scep.build_csr(key, subject, challenge_password=CHALLENGE)
    reply = client.enroll(csr, key)
    assert reply.status == scep.PkiStatus.PENDING
    request = CertificateRequest.objects.get(subject="CN=readiness-pending")
    assert request.status == CertificateRequestStatus.QUEUED
    waiting = _readiness(topology).json()["checks"]["ca_queue"]["waiting"]
    assert waiting >= 1
    assert "Task ca.tasks.certificate_issue_task[" not in topology.ca_worker.log.read_text(errors="replace")
    assert not ConnectorEvent.objects.filter(event_id=EventId.DOWNLOAD_FAILURE).exists()

    # A worker with the right passphrase takes the queued task: issued without the beat sweep.
    topology.ca_worker.stop()
    topology.start_ca_worker()
    _until(lambda: IssuedCertificate.objects.filter(request=request).exists(), "the queued request issued")
    _until(lambda: _readiness(topology).status_code == 200, "ready again")
