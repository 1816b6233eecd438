"""The request id follows a SCEP request from gunicorn to the CA worker and back, with real processes (the
topology of test_topology: gunicorn with two workers, a CA worker on its own queue, PostgreSQL and Redis)."""

from __future__ import annotations

import os

import pytest
import requests

from cryptography.hazmat.primitives.serialization import Encoding

from ca.crypto.keys import spki_sha256
from ca.models import IssuedCertificate
from enrollment import scep
from enrollment.tests.fixtures import Device, device_keys  # noqa: F401 - the session's device keys
from portal.tests.test_topology import CHALLENGE, topology  # noqa: F401 - the real processes

pytestmark = [
    pytest.mark.external,
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True),  # the processes see what the test writes
]


def test_the_request_id_is_in_the_ca_workers_log_lines_for_the_certificate(
    topology,  # noqa: F811
    device_keys,  # noqa: F811
):
    url = f"{topology.url}/scep/topology"
    client = scep.ScepClient(url, timeout=30)
    recipient = scep.select_recipient(client.get_ca_cert())
    device = Device.create(device_keys[0])
    der = scep.build_pki_message(
        message_type=scep.MessageType.PKCS_REQ,
        transaction_id=scep.transaction_id_for(device.key.public_key()),
        sender_nonce=os.urandom(16),
        message_data=device.csr(challenge=CHALLENGE).public_bytes(Encoding.DER),
        recipient_certificate=recipient,
        signer_certificate=device.signer,
        signer_key=device.key,
        cipher=scep.ContentCipher.AES128_CBC,
        digest=scep.DigestAlgorithm.SHA256,
    )

    response = requests.post(
        url,
        params={"operation": "PKIOperation"},
        data=der,
        headers={"Content-Type": "application/x-pki-message"},
        timeout=60,
    )

    assert response.status_code == 200
    request_id = response.headers["X-Request-ID"]
    issued = IssuedCertificate.objects.get(public_key_sha256=spki_sha256(device.key.public_key()))
    worker_lines = [
        line
        for line in topology.ca_worker.log.read_text(errors="replace").splitlines()
        if f"[{request_id}]" in line
    ]
    # The CA worker issued the certificate under the web request's id: its issuance line names the serial.
    assert any(issued.serial in line for line in worker_lines), worker_lines
    web_lines = [
        line for line in topology.web.log.read_text(errors="replace").splitlines() if request_id in line
    ]
    assert any("event 20300" in line for line in web_lines), web_lines  # the hand-over to the CA queue
