"""Scale-out: two web processes and two CA workers on one PostgreSQL and one Redis (issue 13).

Real processes, as ``test_topology`` starts them: gunicorn with 2 worker processes (the RA), and two
Celery CA workers on the same ``ca`` queue, each the only holder of the CA key passphrase in its
process. About a hundred devices enroll at once through the SCEP endpoint; every one gets its
certificate (SUCCESS at once, or after polling as a device does when it is answered PENDING), with no
conflict, no duplicate serial and exactly one certificate per request, and both CA workers signed.
Nothing here measures speed (docs/benchmarks.md does).
"""

from __future__ import annotations

import re
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from ca.choices import CertificateRequestStatus
from ca.models import CertificateRequest, IssuedCertificate
from enrollment import scep
from enrollment.choices import TransactionStatus
from enrollment.models import ScepTransaction
from eventlog.choices import EventId
from eventlog.models import ConnectorEvent
from portal.tests.test_topology import CHALLENGE, Topology, topology  # noqa: F401 - the fixture

pytestmark = [
    pytest.mark.external,
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True),
]

DEVICES = 96
CLIENTS = 16
#: Polls of a device answered PENDING (each waits for the CA on the server, up to the issue wait).
POLLS = 20


def _enroll(url: str, key: rsa.RSAPrivateKey, index: int) -> tuple[scep.PkiStatus, int | None, str]:
    """One device's enrollment, polling while PENDING; (status, serial, transactionID)."""
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"scale-out-{index:03d}")])
    client = scep.ScepClient(url, timeout=120, policy=scep.AlgorithmPolicy(allow_legacy=True))
    csr = scep.build_csr(key, subject, challenge_password=CHALLENGE)
    signer = scep.ScepIdentity(certificate=scep.self_signed_signer(key, subject), key=key)
    reply = client.enroll(csr, key, signer=signer, transaction_id=uuid.uuid4().hex)
    for _ in range(POLLS):
        if reply.status is not scep.PkiStatus.PENDING:
            break
        reply = client.poll(csr, signer=signer, transaction_id=reply.transaction_id)
    serial = reply.certificate.serial_number if reply.certificate is not None else None
    return reply.status, serial, reply.transaction_id


def test_two_web_processes_and_two_ca_workers_issue_concurrently(topology: Topology, pki):  # noqa: F811
    first_worker = topology.ca_worker
    second_worker = topology.start_ca_worker()  # topology stops the last one; this test the first
    try:
        # Requests differ by subject and transactionID; a few keys are enough (generation is slow).
        keys = [rsa.generate_private_key(public_exponent=65537, key_size=2048) for _ in range(4)]
        url = f"{topology.url}/scep/topology"
        with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
            results = list(pool.map(lambda n: _enroll(url, keys[n % len(keys)], n), range(DEVICES)))
    finally:
        first_worker.stop()

    statuses = [status for status, _, _ in results]
    assert statuses == [scep.PkiStatus.SUCCESS] * DEVICES, statuses
    serials = [serial for _, serial, _ in results]
    assert len(set(serials)) == DEVICES  # no duplicate serial
    issued = IssuedCertificate.objects.filter(subject__contains="scale-out-")
    assert issued.count() == DEVICES  # exactly one certificate per request
    assert {int(serial, 16) for serial in issued.values_list("serial", flat=True)} == set(serials)
    requests = CertificateRequest.objects.filter(subject__contains="scale-out-")
    assert requests.count() == DEVICES
    assert set(requests.values_list("status", flat=True)) == {CertificateRequestStatus.ISSUED}
    transaction_ids = [transaction_id for _, _, transaction_id in results]
    transactions = ScepTransaction.objects.filter(transaction_id__in=transaction_ids)
    assert transactions.count() == DEVICES
    assert set(transactions.values_list("status", flat=True)) == {TransactionStatus.SUCCESS}
    downloads = ConnectorEvent.objects.filter(
        event_id=EventId.DOWNLOAD_SUCCESS, serial__in=issued.values("serial")
    )
    assert downloads.count() == DEVICES  # one 20400 per certificate: no task issued twice
    # Both CA workers signed (the queue is shared), and neither met a conflict.
    for worker in (first_worker, second_worker):
        log = worker.log.read_text(errors="replace")
        assert len(re.findall(r"certificate_issue_task\[[^\]]+\] succeeded", log)) > 0, log[-2000:]
        for problem in ("IntegrityError", "deadlock detected", "Traceback"):
            assert problem not in log, _around(log, problem)
    web_log = topology.web.log.read_text(errors="replace")
    assert not re.search(r'"(GET|POST) /scep/\S* HTTP/1\.1" 5\d\d ', web_log), web_log[-4000:]
    for problem in ("IntegrityError", "deadlock detected"):
        assert problem not in web_log, _around(web_log, problem)


def _around(log: str, text: str) -> str:
    at = log.find(text)
    return log[max(at - 3000, 0) : at + 3000]
