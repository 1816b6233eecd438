"""The CA's part of a rollover: the request, the successor made by the CA task, schedule, switch, cancel.

``db`` tests: the request's dispatch runs on the captured commit (``django_capture_on_commit_callbacks``),
which sends the task by name and, with the eager test settings, runs the CA worker's service in place.
"""

from __future__ import annotations

import datetime as dt

import pytest

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from django.utils import timezone

from ca.choices import RolloverStatus
from ca.crypto.keys import KeySpec
from ca.exceptions import AuthorityUnavailable, PolicyViolation
from ca.models import AuthorityRollover, CertificateAuthority, CertificateTemplate
from ca.selectors import crl_get_latest
from ca.services.ocsp import OCSP_TEMPLATE_NAME
from ca.services.rollover import (
    RolloverNotReady,
    authority_rollover_cancel,
    authority_rollover_open,
    authority_rollover_request,
    authority_rollover_schedule,
    authority_rollover_switch,
)
from ca.services.successors import authority_successor_create
from ca.tests.pki import openssl_verify


@pytest.fixture
def request_rollover(django_capture_on_commit_callbacks):
    def _request(authority: CertificateAuthority, **options) -> AuthorityRollover:
        with django_capture_on_commit_callbacks(execute=True):
            rollover = authority_rollover_request(authority=authority, requested_by="test", **options)
        rollover.refresh_from_db()
        return rollover

    return _request


def test_issuing_ca_successor_is_signed_by_its_parent(pki, request_rollover, tmp_path):
    rollover = request_rollover(pki.issuing)

    assert rollover.status == RolloverStatus.PREPARED
    successor = rollover.successor
    assert (successor.slug, successor.name) == ("test-issuing-2", "Test Issuing CA (2)")
    assert successor.parent == pki.root
    assert successor.certificate.subject == pki.issuing.certificate.subject
    assert successor.certificate.public_key() != pki.issuing.certificate.public_key()
    assert (successor.key_type, successor.key_size) == ("RSA", 2048)
    assert rollover.validity_days == (pki.issuing.not_after - pki.issuing.not_before).days
    assert successor.not_after <= pki.root.not_after
    assert set(successor.published_templates.all()) == {pki.template}
    assert crl_get_latest(authority=successor) is not None
    constraints = successor.certificate.extensions.get_extension_for_class(x509.BasicConstraints).value
    assert (constraints.ca, constraints.path_length) == (True, 0)
    openssl_verify(tmp_path, successor.certificate, pki.root.certificate, purpose="any")


def test_root_successor_is_a_self_signed_root(pki, request_rollover, tmp_path):
    rollover = request_rollover(pki.root, key_spec=KeySpec("EC", 256), validity_days=30)

    successor = rollover.successor
    assert successor.is_root
    assert successor.certificate.issuer == successor.certificate.subject == pki.root.certificate.subject
    successor.certificate.verify_directly_issued_by(successor.certificate)
    assert (successor.key_type, successor.key_size) == ("EC", 256)
    assert successor.not_after - successor.not_before < dt.timedelta(days=31)
    assert successor.fingerprint_sha256 != pki.root.fingerprint_sha256
    openssl_verify(tmp_path, successor.certificate, successor.certificate, purpose="any")


def test_successor_names_count_on(pki, request_rollover):
    first = request_rollover(pki.issuing)
    authority_rollover_cancel(rollover=first)

    second = request_rollover(pki.issuing)

    assert second.successor.slug == "test-issuing-3"
    assert second.successor.name == "Test Issuing CA (3)"


def test_one_rollover_under_way_per_ca(pki, request_rollover):
    request_rollover(pki.issuing)

    with pytest.raises(PolicyViolation, match="under way already") as refused:
        authority_rollover_request(authority=pki.issuing, requested_by="test")

    assert refused.value.code == "rollover_under_way"
    assert AuthorityRollover.objects.count() == 1


@pytest.mark.parametrize(
    ("options", "code"),
    [
        ({"switch_at": dt.datetime(2000, 1, 1, tzinfo=dt.UTC)}, "switch_at_past"),
        ({"validity_days": 0}, "validity_not_allowed"),
        ({"successor_slug": "test-root"}, "rollover_name_taken"),
    ],
)
def test_bad_requests_are_refused_before_anything_is_written(pki, options, code):
    with pytest.raises(PolicyViolation) as refused:
        authority_rollover_request(authority=pki.issuing, requested_by="test", **options)

    assert refused.value.code == code
    assert not AuthorityRollover.objects.exists()
    assert CertificateAuthority.objects.count() == 2


def test_a_root_is_not_rolled_under_a_parent(pki):
    with pytest.raises(PolicyViolation, match="is a root"):
        authority_rollover_request(authority=pki.root, requested_by="test", parent=pki.issuing)
    assert not AuthorityRollover.objects.exists()


def test_a_disabled_ca_is_not_rolled(pki):
    CertificateAuthority.objects.filter(pk=pki.issuing.pk).update(enabled=False)
    pki.issuing.refresh_from_db()

    with pytest.raises(AuthorityUnavailable):
        authority_rollover_request(authority=pki.issuing, requested_by="test")
    assert not AuthorityRollover.objects.exists()


def test_successor_creation_is_idempotent(pki, request_rollover):
    rollover = request_rollover(pki.issuing)

    again = authority_successor_create(rollover_id=rollover.pk)

    assert again.status == RolloverStatus.PREPARED
    assert again.successor == rollover.successor
    assert CertificateAuthority.objects.count() == 3


def test_a_successor_the_ca_refuses_fails_the_rollover_with_its_reason(pki):
    rollover = authority_rollover_request(authority=pki.issuing, requested_by="test")  # not dispatched
    CertificateAuthority.objects.filter(pk=pki.root.pk).update(enabled=False)

    failed = authority_successor_create(rollover_id=rollover.pk)

    assert failed.status == RolloverStatus.FAILED
    assert "disabled" in failed.failure_reason
    assert failed.successor is None
    assert CertificateAuthority.objects.count() == 2
    assert authority_rollover_open(authority=pki.issuing) is None


def test_switch_moves_the_templates_but_the_ocsp_one(pki, request_rollover):
    ocsp = CertificateTemplate.objects.create(name=OCSP_TEMPLATE_NAME, display_name="OCSP")
    pki.issuing.published_templates.add(ocsp)
    rollover = request_rollover(pki.issuing)
    now = timezone.now()

    moved = authority_rollover_switch(rollover=rollover, now=now)

    assert moved == [pki.template.name]
    assert set(pki.issuing.published_templates.all()) == {ocsp}
    assert set(rollover.successor.published_templates.all()) == {pki.template, ocsp}
    rollover.refresh_from_db()
    assert (rollover.status, rollover.switched_at) == (RolloverStatus.SWITCHED, now)
    pki.issuing.refresh_from_db()
    assert pki.issuing.enabled  # it keeps publishing its CRL and OCSP answers


def test_switch_twice_is_refused(pki, request_rollover):
    rollover = request_rollover(pki.issuing)
    authority_rollover_switch(rollover=rollover, now=timezone.now())

    with pytest.raises(RolloverNotReady, match="switched, not prepared"):
        authority_rollover_switch(rollover=rollover, now=timezone.now())


def test_switch_before_the_successor_exists_is_refused(pki):
    rollover = authority_rollover_request(authority=pki.issuing, requested_by="test")  # not dispatched

    with pytest.raises(RolloverNotReady, match="requested, not prepared"):
        authority_rollover_switch(rollover=rollover, now=timezone.now())
    assert set(pki.issuing.published_templates.all()) == {pki.template}


def test_schedule_takes_a_future_time_only(pki, request_rollover):
    rollover = request_rollover(pki.issuing)
    later = timezone.now() + dt.timedelta(days=7)

    assert authority_rollover_schedule(rollover=rollover, switch_at=later).switch_at == later
    with pytest.raises(PolicyViolation, match="has passed"):
        authority_rollover_schedule(rollover=rollover, switch_at=timezone.now() - dt.timedelta(seconds=1))
    assert authority_rollover_schedule(rollover=rollover, switch_at=None).switch_at is None


def test_cancel_disables_the_successor_and_closes_the_rollover(pki, request_rollover):
    rollover = request_rollover(pki.issuing)

    cancelled = authority_rollover_cancel(rollover=rollover)

    assert cancelled.status == RolloverStatus.CANCELLED
    assert cancelled.cancelled_at is not None
    assert cancelled.successor is not None
    assert not cancelled.successor.enabled
    assert authority_rollover_open(authority=pki.issuing) is None
    with pytest.raises(RolloverNotReady, match="only one under way"):
        authority_rollover_cancel(rollover=cancelled)
    with pytest.raises(RolloverNotReady):
        authority_rollover_switch(rollover=cancelled, now=timezone.now())


def test_successor_fingerprints_are_its_certificates(pki, request_rollover):
    successor = request_rollover(pki.issuing).successor
    assert successor.fingerprint_sha256 == successor.certificate.fingerprint(hashes.SHA256()).hex().upper()


def test_cancel_is_refused_once_the_successor_signed_a_ca_in_use(pki, request_rollover):
    root_rollover = request_rollover(pki.root)
    issuing_rollover = request_rollover(pki.issuing, parent=root_rollover.successor)

    with pytest.raises(RolloverNotReady, match=r"signed CA\(s\) in use \(test-issuing-2\)"):
        authority_rollover_cancel(rollover=root_rollover)

    authority_rollover_cancel(rollover=issuing_rollover)
    assert authority_rollover_cancel(rollover=root_rollover).status == RolloverStatus.CANCELLED
