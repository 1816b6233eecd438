"""certificate_issue: serial numbers are unique per CA, under collisions and under concurrent issuance."""

from __future__ import annotations

import itertools
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from cryptography import x509
from cryptography.x509.oid import NameOID

from django.db import IntegrityError, connection, transaction
from django.db.models import UniqueConstraint

from ca.choices import CertificateRequestStatus
from ca.constants import MAX_SERIAL_ATTEMPTS
from ca.crypto.serials import random_serial, serial_to_hex
from ca.models import CertificateRequest, IssuedCertificate
from ca.services import issuance, submission
from ca.services.issuance import certificate_issue
from ca.services.submission import certificate_request_submit
from ca.tests.pki import make_csr, require_postgresql


def _queued_requests(pki, key, count: int, monkeypatch) -> list[CertificateRequest]:
    """``count`` queued requests whose dispatch is held back, so that the test decides who issues them."""
    csr, _ = make_csr(key)
    with monkeypatch.context() as patch:
        patch.setattr(submission, "certificate_request_dispatch", lambda request: None)
        return [
            certificate_request_submit(
                authority=pki.issuing,
                template=pki.template,
                csr=csr,
                subject=x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"concurrent-{n}")]),
                requester="test",
            )
            for n in range(count)
        ]


def _issue_concurrently(request_ids: list[int], threads: int) -> list[str]:
    barrier = threading.Barrier(threads)

    def work(ids: list[int]) -> list[str]:
        try:
            barrier.wait(timeout=60)
            serials = []
            for request_id in ids:
                issued = certificate_issue(request_id=request_id)
                assert issued is not None
                serials.append(issued.serial)
            return serials
        finally:
            connection.close()

    chunks = [request_ids[n::threads] for n in range(threads)]
    with ThreadPoolExecutor(max_workers=threads) as pool:
        return [serial for serials in pool.map(work, chunks) for serial in serials]


@pytest.mark.postgres
def test_serials_are_unique_under_concurrent_issuance(transactional_db, pki, rsa2048_key, monkeypatch):
    require_postgresql()
    requests = _queued_requests(pki, rsa2048_key, 40, monkeypatch)
    serials = _issue_concurrently([r.pk for r in requests], threads=8)
    assert len(serials) == 40
    assert len(set(serials)) == 40
    assert IssuedCertificate.objects.filter(authority=pki.issuing).count() == 40
    assert set(IssuedCertificate.objects.values_list("serial", flat=True)) == set(serials)
    assert set(CertificateRequest.objects.values_list("status", flat=True)) == {
        CertificateRequestStatus.ISSUED
    }


@pytest.mark.postgres
def test_concurrent_serial_collisions_are_retried(transactional_db, pki, rsa2048_key, monkeypatch):
    require_postgresql()
    requests = _queued_requests(pki, rsa2048_key, 40, monkeypatch)
    # Every serial is drawn twice: whichever transaction inserts it second collides with the first (waiting
    # for it to commit on the unique index) and must draw again. Issuances of one CA run side by side (only
    # the request's row is locked), so a thread that drew a second copy gets a fresh serial next: else it
    # could draw second copies MAX_SERIAL_ATTEMPTS times in a row, which only this test's draws can do.
    lock = threading.Lock()
    pairs = itertools.chain.from_iterable((s, s) for s in iter(random_serial, None))
    drawn: list[int] = []
    local = threading.local()

    def twice_each() -> int:
        with lock:
            if getattr(local, "drew_a_copy", False):
                serial, local.drew_a_copy = random_serial(), False
            else:
                serial = next(pairs)
                local.drew_a_copy = serial in drawn
            drawn.append(serial)
            return serial

    monkeypatch.setattr(issuance, "random_serial", twice_each)
    serials = _issue_concurrently([r.pk for r in requests], threads=8)
    assert len(set(serials)) == 40
    assert IssuedCertificate.objects.count() == 40
    assert len(drawn) > 40  # collisions happened and were retried
    assert {int(s, 16) for s in serials} <= set(drawn)


def test_serial_collision_is_retried_with_a_fresh_serial(pki, issue, monkeypatch):
    taken = IssuedCertificate.objects.get(request=issue(common_name="first"))
    fresh = random_serial()
    draws = iter([taken.serial_int, fresh])
    monkeypatch.setattr(issuance, "random_serial", lambda: next(draws))
    request = issue(common_name="second")
    assert request.status == CertificateRequestStatus.ISSUED
    second = IssuedCertificate.objects.get(request=request)
    assert second.serial == serial_to_hex(fresh)
    assert second.certificate.serial_number == fresh
    assert IssuedCertificate.objects.count() == 2
    second.certificate.verify_directly_issued_by(pki.issuing.certificate)


def test_issuance_gives_up_after_the_maximum_number_of_collisions(pki, issue, rsa2048_key, monkeypatch):
    taken = IssuedCertificate.objects.get(request=issue(common_name="first"))
    request = _queued_requests(pki, rsa2048_key, 1, monkeypatch)[0]
    calls = []

    def always_taken() -> int:
        calls.append(1)
        return taken.serial_int

    monkeypatch.setattr(issuance, "random_serial", always_taken)
    with pytest.raises(IntegrityError):
        certificate_issue(request_id=request.pk)
    assert len(calls) == MAX_SERIAL_ATTEMPTS
    assert IssuedCertificate.objects.count() == 1
    request.refresh_from_db()
    assert request.status == CertificateRequestStatus.QUEUED


def test_serial_is_unique_per_ca(pki, issued):
    duplicate = IssuedCertificate(
        authority=issued.authority,
        template=issued.template,
        serial=issued.serial,
        subject="dup",
        not_before=issued.not_before,
        not_after=issued.not_after,
        fingerprint_sha1="00" * 20,
        fingerprint_sha256="00" * 32,
        public_key_sha256=issued.public_key_sha256,
        der=b"\x30\x00",
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        duplicate.save()
    assert IssuedCertificate.objects.count() == 1
    # The same serial under another CA is another certificate.
    duplicate.authority = pki.root
    duplicate.save()
    assert IssuedCertificate.objects.filter(serial=issued.serial).count() == 2


def test_unique_constraint_on_authority_and_serial_is_declared():
    constraints = {c.name: c for c in IssuedCertificate._meta.constraints}
    unique = constraints["ca_certificate_serial_unique_per_ca"]
    assert isinstance(unique, UniqueConstraint)
    assert unique.fields == ("authority", "serial")
