"""certmonger (Debian ``certmonger`` 0.79.17) against a SCEP service without legacy algorithms.

certmonger's scep-submit verifies every CertRep with OpenSSL's ``PKCS7_verify``, which refuses a
SignedData without eContent ("PKCS7 routines::no content"): before FAILURE and PENDING carried an empty
eContent, ``getcert list`` showed every refusal and every request awaiting approval as CA_UNREACHABLE.
Now a refusal is CA_REJECTED and a request awaiting approval CA_WORKING, issued by certmonger's own poll
once approved. How the private daemon runs, and how certmonger polls: ``certmonger.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from cryptography import x509
from cryptography.x509.oid import NameOID

from ca.models import CertificateRequest, IssuedCertificate
from ca.services.submission import certificate_request_approve
from ca.tests.fixtures import Pki
from ca.tests.pki import openssl_verify
from enrollment import scep
from enrollment.choices import TransactionStatus
from enrollment.models import ScepTransaction
from enrollment.tests.clients.certmonger import Certmonger, wait_until
from enrollment.tests.clients.conftest import CLIENTS_CHALLENGE
from eventlog.choices import EventId
from eventlog.models import ConnectorEvent

pytestmark = pytest.mark.external

#: What certmonger shows for failInfo badRequest.
BAD_REQUEST_TEXT = "Transaction either is not permitted or is not supported by server."


@pytest.fixture
def certmonger(tmp_path: Path, clients_tls_cafile: Path) -> Iterator[Certmonger]:
    """A private certmonger whose scep-submit trusts the front door's TLS CA for every request."""
    daemon = Certmonger.start(tmp_path / "certmonger", trust=clients_tls_cafile)
    try:
        yield daemon
    finally:
        daemon.stop()


def load(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def test_certmonger_enrolls(
    certmonger: Certmonger, clients_url: str, clients_tls_cafile: Path, pki: Pki, tmp_path: Path
) -> None:
    certmonger.add_scep_ca("certportal", clients_url, cafile=clients_tls_cafile)

    _, certificate_file = certmonger.request(
        "enroll", ca="certportal", subject="CN=cm-device,O=certportal tests", challenge=CLIENTS_CHALLENGE,
        directory=tmp_path,
    )  # fmt: skip

    status = certmonger.wait_for("enroll")
    assert status["status"] == "MONITORING", status
    certificate = load(certificate_file)
    assert certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "cm-device"
    assert status["issuer"] == "CN=Test Issuing CA,O=certportal tests"
    openssl_verify(tmp_path, certificate, pki.issuing.certificate, pki.root.certificate)
    transaction = ScepTransaction.objects.get()
    assert (transaction.message_type, transaction.status) == (
        scep.MessageType.PKCS_REQ,
        TransactionStatus.SUCCESS,
    )
    assert transaction.certificate is not None
    assert transaction.certificate.certificate == certificate


def test_certmonger_shows_a_refusal_as_rejected(
    certmonger: Certmonger, clients_url: str, clients_tls_cafile: Path, tmp_path: Path
) -> None:
    certmonger.add_scep_ca("certportal", clients_url, cafile=clients_tls_cafile)

    _, certificate_file = certmonger.request(
        "refused", ca="certportal", subject="CN=cm-refused,O=certportal tests", challenge="not-the-challenge",
        directory=tmp_path,
    )  # fmt: skip

    status = certmonger.wait_for("refused")
    assert status["status"] == "CA_REJECTED", status  # was CA_UNREACHABLE "PKCS7 routines::no content"
    assert status["ca-error"] == BAD_REQUEST_TEXT
    assert not certificate_file.exists()
    assert IssuedCertificate.objects.count() == 0
    assert ScepTransaction.objects.get().fail_info == scep.FailInfo.BAD_REQUEST
    refusal = ConnectorEvent.objects.get(event_id=EventId.SCEP_VERIFY_FAILURE)
    assert refusal.fail_info == scep.FailInfo.BAD_REQUEST


def pending_answers() -> int:
    return ConnectorEvent.objects.filter(event_id=EventId.SCEP_PENDING).count()


def test_certmonger_waits_for_approval_and_its_own_poll_gets_the_certificate(
    certmonger: Certmonger, clients_url: str, clients_tls_cafile: Path, pki: Pki, tmp_path: Path
) -> None:
    pki.template.requires_approval = True
    pki.template.save()
    certmonger.add_scep_ca("certportal", clients_url, cafile=clients_tls_cafile)

    _, certificate_file = certmonger.request(
        "approval", ca="certportal", subject="CN=cm-approval,O=certportal tests", challenge=CLIENTS_CHALLENGE,
        directory=tmp_path,
    )  # fmt: skip

    # Waiting for the CA (was CA_UNREACHABLE "PKCS7 routines::no content").
    status = certmonger.wait_for("approval")
    assert status["status"] == "CA_WORKING", status
    assert "ca-error" not in status
    assert pending_answers() == 1
    request = CertificateRequest.objects.get()

    # certmonger polls (getcert refresh: now rather than in a week) and is told to wait again.
    certmonger.getcert("refresh", "-i", "approval")
    wait_until(lambda: pending_answers() == 2, "certmonger's poll answered PENDING")
    status = certmonger.wait_for("approval")
    assert status["status"] == "CA_WORKING", status
    assert IssuedCertificate.objects.count() == 0

    certificate_request_approve(request=request, actor="ca-manager")
    issued = IssuedCertificate.objects.get()

    # Its next poll gets the approved certificate.
    certmonger.getcert("refresh", "-i", "approval")
    status = certmonger.wait_for("approval", {"MONITORING", "CA_REJECTED", "CA_UNREACHABLE"})
    assert status["status"] == "MONITORING", status
    assert load(certificate_file) == issued.certificate
    assert IssuedCertificate.objects.count() == 1
    # Every poll was the PKCSReq again (same transactionID and CSR), answered from the one transaction.
    transaction = ScepTransaction.objects.get()
    assert (transaction.message_type, transaction.status) == (
        scep.MessageType.PKCS_REQ,
        TransactionStatus.SUCCESS,
    )
    assert transaction.certificate == issued
    # The first answer with the certificate is recorded as sent to the device (20600).
    polls = ConnectorEvent.objects.filter(event_id__in=[EventId.SCEP_PENDING, EventId.CRP_NOTIFY_SUCCESS])
    assert sorted(polls.values_list("event_id", "message_type")) == [
        (EventId.SCEP_PENDING, scep.MessageType.PKCS_REQ),
        (EventId.SCEP_PENDING, scep.MessageType.PKCS_REQ),
        (EventId.CRP_NOTIFY_SUCCESS, scep.MessageType.PKCS_REQ),
    ]


def test_certmonger_renews_with_its_current_certificate(
    certmonger: Certmonger, clients_url: str, clients_tls_cafile: Path, pki: Pki, tmp_path: Path
) -> None:
    certmonger.add_scep_ca("certportal", clients_url, cafile=clients_tls_cafile)
    _, certificate_file = certmonger.request(
        "renew", ca="certportal", subject="CN=cm-renew,O=certportal tests", challenge=CLIENTS_CHALLENGE,
        directory=tmp_path,
    )  # fmt: skip
    assert certmonger.wait_for("renew")["status"] == "MONITORING"
    old = IssuedCertificate.objects.get()

    # A new key (getcert resubmit keeps the key: the same PKCSReq, answered with the same certificate).
    certmonger.getcert("rekey", "-i", "renew")
    wait_until(
        lambda: ScepTransaction.objects.count() == 2 or "ca-error" in certmonger.status("renew"),
        "certmonger's renewal was answered",
    )
    status = certmonger.wait_for("renew")

    assert status["status"] == "MONITORING", status
    renewal = ScepTransaction.objects.exclude(certificate=old).get()
    assert renewal.status == TransactionStatus.SUCCESS, renewal.fail_info_text
    assert renewal.renewed_certificate == old
    assert renewal.certificate is not None
    renewed = load(certificate_file)
    assert renewal.certificate.certificate == renewed
    assert renewed.public_key() != old.certificate.public_key()
    openssl_verify(tmp_path, renewed, pki.issuing.certificate, pki.root.certificate)
