"""profiles.services.sweeps: the device certificate sweep moves real certificates (issued by the test CA)
to renewal due, expired and revoked, in the binding and in the device's state, once, with bounded queries.
"""

from __future__ import annotations

import datetime as dt

import pytest

from celery import current_app as celery_app
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from ca.choices import RevocationReason
from ca.models import IssuedCertificate
from directory.tests.factories import DeviceFactory
from profiles.choices import CertificateState, DeviceCertificateStatus, RevokeStatus
from profiles.jobs import device_certificate_sweep_task
from profiles.models import DeviceCertificate, DeviceCertificateState
from profiles.services.profiles import scep_profile_update
from profiles.services.states import device_enrollment_failed, device_enrollment_succeeded
from profiles.services.sweeps import (
    EXPIRED_REASON,
    CertificateSweepResult,
    device_certificate_sweep,
)

RENEWAL_REASON = "less than 20% of the certificate's lifetime remains"


@pytest.fixture
def bind(device, scep_profile, issue):
    """``bind(device=..., profile=..., common_name=...)``: a certificate issued by the test CA and bound to
    the device by the enrollment service (as after a SCEP enrollment); returns the binding.
    """

    def _bind(*, device=device, profile=scep_profile, common_name="sweep-1") -> DeviceCertificate:
        certificate = IssuedCertificate.objects.get(request=issue(common_name=common_name))
        device_enrollment_succeeded(device=device, profile=profile, certificate=certificate)
        binding = DeviceCertificate.objects.select_related("certificate").get(certificate=certificate)
        assert binding.renewal_due_at is not None
        return binding

    return _bind


def _state(binding: DeviceCertificate) -> DeviceCertificateState:
    return DeviceCertificateState.objects.get(device=binding.device_id, profile=binding.profile_id)


def _fresh(binding: DeviceCertificate) -> DeviceCertificate:
    return DeviceCertificate.objects.get(pk=binding.pk)


def _move_to(time_machine, moment: dt.datetime) -> dt.datetime:
    time_machine.move_to(moment, tick=False)
    return timezone.now()


# --- renewal due, then expired -------------------------------------------------------------------------


def test_marks_renewal_due_then_expired_in_the_binding_and_the_state(bind, time_machine):
    binding = bind()
    certificate = binding.certificate
    lifetime = certificate.not_after - certificate.not_before
    assert binding.renewal_due_at == certificate.not_after - lifetime * 0.2
    assert device_certificate_sweep() == CertificateSweepResult()

    _move_to(time_machine, binding.renewal_due_at - dt.timedelta(seconds=1))
    assert device_certificate_sweep().changed == 0
    assert _fresh(binding).status == DeviceCertificateStatus.ISSUED

    due_at = _move_to(time_machine, binding.renewal_due_at + dt.timedelta(seconds=1))
    assert device_certificate_sweep() == CertificateSweepResult(renewal_due=1, states_renewal_due=1)
    updated = _fresh(binding)
    assert (updated.status, updated.status_reason, updated.status_changed_at) == (
        DeviceCertificateStatus.RENEWAL_DUE,
        RENEWAL_REASON,
        due_at,
    )
    state = _state(binding)
    assert (state.state, state.reason, state.state_changed_at, state.certificate_id) == (
        CertificateState.RENEWAL_DUE,
        RENEWAL_REASON,
        due_at,
        certificate.pk,
    )

    _move_to(time_machine, due_at + dt.timedelta(hours=1))
    assert device_certificate_sweep().changed == 0  # idempotent: nothing moves, not even the times
    assert _fresh(binding).status_changed_at == due_at
    assert _state(binding).state_changed_at == due_at

    expired_at = _move_to(time_machine, certificate.not_after + dt.timedelta(seconds=1))
    assert device_certificate_sweep() == CertificateSweepResult(expired=1, states_expired=1)
    updated = _fresh(binding)
    assert (updated.status, updated.status_reason, updated.status_changed_at) == (
        DeviceCertificateStatus.EXPIRED,
        EXPIRED_REASON,
        expired_at,
    )
    assert updated.revoke_status == RevokeStatus.NONE
    state = _state(binding)
    assert (state.state, state.reason, state.state_changed_at) == (
        CertificateState.EXPIRED,
        EXPIRED_REASON,
        expired_at,
    )
    assert device_certificate_sweep().changed == 0


def test_a_changed_renewal_threshold_re_times_the_certificates_already_issued(
    bind, scep_profile, time_machine
):
    binding = bind()
    certificate = binding.certificate
    lifetime = certificate.not_after - certificate.not_before
    _move_to(time_machine, certificate.not_before + lifetime * 0.55)  # 45% left: not due at 20%
    assert device_certificate_sweep().changed == 0

    scep_profile_update(profile=scep_profile, renewal_threshold_percentage=50)

    assert _fresh(binding).renewal_due_at == certificate.not_after - lifetime * 0.5
    assert device_certificate_sweep() == CertificateSweepResult(renewal_due=1, states_renewal_due=1)
    assert _state(binding).reason == "less than 50% of the certificate's lifetime remains"


def test_a_certificate_past_not_after_is_expired_without_passing_through_renewal_due(bind, time_machine):
    binding = bind()
    _move_to(time_machine, binding.certificate.not_after + dt.timedelta(days=1))
    assert device_certificate_sweep() == CertificateSweepResult(expired=1, states_expired=1)
    assert _fresh(binding).status == DeviceCertificateStatus.EXPIRED


def test_the_reason_names_the_threshold_of_the_profile(make_profile, bind, time_machine):
    profile = make_profile(name="thirty percent", renewal_threshold_percentage=30)
    binding = bind(profile=profile)
    _move_to(time_machine, binding.renewal_due_at + dt.timedelta(seconds=1))
    device_certificate_sweep()
    expected = "less than 30% of the certificate's lifetime remains"
    assert _fresh(binding).status_reason == expected
    assert _state(binding).reason == expected


def test_a_binding_whose_profile_was_deleted_still_becomes_renewal_due(bind, time_machine):
    binding = bind()
    DeviceCertificate.objects.filter(pk=binding.pk).update(profile=None)  # SET_NULL, as a deleted profile
    _move_to(time_machine, binding.renewal_due_at + dt.timedelta(seconds=1))
    assert device_certificate_sweep().renewal_due == 1
    updated = _fresh(binding)
    assert (updated.status, updated.status_reason) == (
        DeviceCertificateStatus.RENEWAL_DUE,
        "the certificate's renewal threshold has passed",
    )


# --- which device states follow --------------------------------------------------------------------------


def test_only_the_state_whose_current_certificate_it_is_follows(
    make_profile, bind, device, pki, time_machine
):
    profile = make_profile(name="no revocation of superseded", revoke_superseded=False)
    pki.template.validity_days = 30
    pki.template.save()
    old = bind(profile=profile, common_name="old")
    pki.template.validity_days = 365
    pki.template.save()
    new = bind(profile=profile, common_name="new")
    assert _fresh(old).status == DeviceCertificateStatus.SUPERSEDED
    assert _state(new).certificate_id == new.certificate_id

    _move_to(time_machine, old.certificate.not_after + dt.timedelta(seconds=1))
    # The superseded certificate is past its renewal threshold too: superseded stays, until it expires.
    assert device_certificate_sweep() == CertificateSweepResult(expired=1)
    assert _fresh(old).status == DeviceCertificateStatus.EXPIRED
    assert _fresh(new).status == DeviceCertificateStatus.ISSUED
    assert _state(new).state == CertificateState.ISSUED


def test_a_failed_state_keeps_its_word_when_its_certificate_expires(bind, device, scep_profile, time_machine):
    binding = bind()
    device_enrollment_failed(device=device, profile=scep_profile, reason="renewal refused by the CA")
    assert _state(binding).certificate_id == binding.certificate_id  # the last certificate is kept

    _move_to(time_machine, binding.certificate.not_after + dt.timedelta(seconds=1))
    assert device_certificate_sweep() == CertificateSweepResult(expired=1)
    state = _state(binding)
    assert (state.state, state.reason) == (CertificateState.FAILED, "renewal refused by the CA")


def test_a_state_left_behind_by_an_interrupted_run_catches_up(bind, device, make_profile, time_machine):
    due = bind(profile=make_profile(name="due"))
    expired = bind(profile=make_profile(name="expired"), common_name="expired")
    revoked = bind(profile=make_profile(name="revoked"), common_name="revoked")
    _move_to(time_machine, due.renewal_due_at + dt.timedelta(seconds=1))
    # A run changed the bindings and stopped before their states (the worker was killed):
    DeviceCertificate.objects.filter(pk=due.pk).update(
        status=DeviceCertificateStatus.RENEWAL_DUE, status_reason=RENEWAL_REASON
    )
    IssuedCertificate.objects.filter(pk=expired.certificate_id).update(not_after=timezone.now())
    DeviceCertificate.objects.filter(pk=expired.pk).update(status=DeviceCertificateStatus.EXPIRED)
    IssuedCertificate.objects.filter(pk=revoked.certificate_id).update(
        revoked_at=timezone.now(), revocation_reason=RevocationReason.PRIVILEGE_WITHDRAWN
    )
    DeviceCertificate.objects.filter(pk=revoked.pk).update(
        status=DeviceCertificateStatus.REVOKED, revoke_status=RevokeStatus.REVOKED
    )

    assert device_certificate_sweep() == CertificateSweepResult(
        states_revoked=1, states_expired=1, states_renewal_due=1
    )
    assert (_state(due).state, _state(due).reason) == (CertificateState.RENEWAL_DUE, RENEWAL_REASON)
    assert (_state(expired).state, _state(expired).reason) == (CertificateState.EXPIRED, EXPIRED_REASON)
    assert (_state(revoked).state, _state(revoked).reason) == (
        CertificateState.REVOKED,
        "revoked (privilege withdrawn)",
    )
    assert device_certificate_sweep().changed == 0


# --- revoked in the CA's rows (the safety net) ----------------------------------------------------------


def _revoke_in_ca_rows(binding: DeviceCertificate, reason: RevocationReason, when: dt.datetime) -> None:
    """As the CA worker records a revocation, with the observer call that updates the binding lost."""
    IssuedCertificate.objects.filter(pk=binding.certificate_id).update(
        revoked_at=when, revocation_reason=reason
    )
    DeviceCertificate.objects.filter(pk=binding.pk).update(
        status=DeviceCertificateStatus.ISSUED, revoke_status=RevokeStatus.NONE
    )


def test_a_certificate_revoked_in_the_ca_rows_is_picked_up(bind, time_machine):
    binding = bind()
    revoked_at = timezone.now()
    _revoke_in_ca_rows(binding, RevocationReason.KEY_COMPROMISE, revoked_at)

    swept_at = _move_to(time_machine, revoked_at + dt.timedelta(minutes=10))
    assert device_certificate_sweep() == CertificateSweepResult(revoked=1, states_revoked=1)
    updated = _fresh(binding)
    assert (updated.status, updated.revoke_status, updated.status_reason) == (
        DeviceCertificateStatus.REVOKED,
        RevokeStatus.REVOKED,
        "revoked (key compromise)",
    )
    assert updated.status_changed_at == updated.revoke_status_changed_at == swept_at
    state = _state(binding)
    assert (state.state, state.reason, state.state_changed_at) == (
        CertificateState.REVOKED,
        "revoked (key compromise)",
        swept_at,
    )

    _move_to(time_machine, binding.certificate.not_after + dt.timedelta(days=1))
    assert device_certificate_sweep().changed == 0  # revoked is final: never "expired" afterwards
    assert _fresh(binding).status == DeviceCertificateStatus.REVOKED


def test_a_revoked_status_with_a_pending_revoke_status_keeps_its_reason(bind):
    binding = bind()
    earlier = timezone.now() - dt.timedelta(hours=1)
    IssuedCertificate.objects.filter(pk=binding.certificate_id).update(
        revoked_at=timezone.now(), revocation_reason=RevocationReason.CESSATION_OF_OPERATION
    )
    DeviceCertificate.objects.filter(pk=binding.pk).update(
        status=DeviceCertificateStatus.REVOKED,
        status_reason="revoked: device retired (cessation of operation)",
        status_changed_at=earlier,
        revoke_status=RevokeStatus.PENDING,
    )
    assert device_certificate_sweep().revoked == 1
    updated = _fresh(binding)
    assert (updated.status_reason, updated.status_changed_at) == (
        "revoked: device retired (cessation of operation)",
        earlier,
    )
    assert updated.revoke_status == RevokeStatus.REVOKED
    assert updated.revoke_status_changed_at is not None
    assert updated.revoke_status_changed_at > earlier


def test_an_expired_certificate_revoked_afterwards_becomes_revoked(bind, time_machine):
    binding = bind()
    _move_to(time_machine, binding.certificate.not_after + dt.timedelta(seconds=1))
    device_certificate_sweep()
    assert _state(binding).state == CertificateState.EXPIRED
    _revoke_in_ca_rows(binding, RevocationReason.SUPERSEDED, timezone.now())
    DeviceCertificate.objects.filter(pk=binding.pk).update(status=DeviceCertificateStatus.EXPIRED)

    assert device_certificate_sweep() == CertificateSweepResult(revoked=1, states_revoked=1)
    assert _fresh(binding).status == DeviceCertificateStatus.REVOKED
    assert _state(binding).state == CertificateState.REVOKED


# --- batches and queries ---------------------------------------------------------------------------------


def _bind_many(bind, profiles, count: int) -> list[DeviceCertificate]:
    """``count`` devices with one certificate each, spread over ``profiles``."""
    return [
        bind(device=DeviceFactory.create(), profile=profiles[n % len(profiles)], common_name=f"batch-{n}")
        for n in range(count)
    ]


def _two_profiles(make_profile, prefix: str, *thresholds: int):
    return [
        make_profile(name=f"{prefix} {threshold}", renewal_threshold_percentage=threshold)
        for threshold in thresholds
    ]


def _past_the_last_renewal(bindings: list[DeviceCertificate]) -> dt.datetime:
    return max(b.renewal_due_at for b in bindings if b.renewal_due_at is not None) + dt.timedelta(seconds=1)


def _queries(**kwargs) -> tuple[CertificateSweepResult, int]:
    with CaptureQueriesContext(connection) as captured:
        result = device_certificate_sweep(**kwargs)
    return result, len(captured)


def test_queries_do_not_grow_with_the_number_of_bindings(bind, make_profile, time_machine):
    # Two bindings due early in their lifetime (thresholds 80 and 79 %), eight late (20 and 21 %).
    few = _bind_many(bind, _two_profiles(make_profile, "early", 80, 79), 2)
    many = _bind_many(bind, _two_profiles(make_profile, "late", 20, 21), 8)

    _move_to(time_machine, _past_the_last_renewal(few))
    result, queries_for_two = _queries()
    assert result == CertificateSweepResult(renewal_due=2, states_renewal_due=2)

    _move_to(time_machine, _past_the_last_renewal(many))
    result, queries_for_eight = _queries()
    assert result == CertificateSweepResult(renewal_due=8, states_renewal_due=8)
    assert queries_for_eight == queries_for_two

    result, queries_when_nothing_to_do = _queries()
    assert result.changed == 0
    assert queries_when_nothing_to_do == 6  # one look per pass at the bindings and at the states


def test_a_sweep_of_many_changes_stays_within_its_query_budget(
    bind, make_profile, time_machine, django_assert_max_num_queries
):
    bindings = _bind_many(bind, _two_profiles(make_profile, "batch", 20, 25), 10)
    IssuedCertificate.objects.filter(pk=bindings[0].certificate_id).update(
        revoked_at=timezone.now(), revocation_reason=RevocationReason.KEY_COMPROMISE
    )
    _move_to(time_machine, _past_the_last_renewal(bindings))
    # revoked: a look for the reasons (bindings, states), then ids + UPDATE bindings + UPDATE states and a
    # look for states left behind; expired: the same looks; renewal due: a look for the profiles, per
    # profile ids + 2 UPDATEs, a look for states left behind.
    with django_assert_max_num_queries(16):
        result = device_certificate_sweep()
    assert result == CertificateSweepResult(revoked=1, states_revoked=1, renewal_due=9, states_renewal_due=9)


def test_small_batches_update_everything_in_several_statements(bind, make_profile, time_machine):
    bindings = _bind_many(bind, _two_profiles(make_profile, "batch", 20, 25), 7)
    _move_to(time_machine, _past_the_last_renewal(bindings))
    with CaptureQueriesContext(connection) as captured:
        result = device_certificate_sweep(batch_size=2)
    assert result == CertificateSweepResult(renewal_due=7, states_renewal_due=7)
    updates = [q["sql"] for q in captured.captured_queries if q["sql"].startswith("UPDATE")]
    # profile A has 4 bindings (2 + 2 rows), profile B 3 (2 + 1 rows): 4 UPDATEs of bindings, 4 of states
    assert len(updates) == 8
    assert set(DeviceCertificate.objects.values_list("status", flat=True)) == {
        DeviceCertificateStatus.RENEWAL_DUE
    }
    assert device_certificate_sweep(batch_size=2).changed == 0


# --- the beat task ------------------------------------------------------------------------------------------


def test_the_task_runs_on_the_default_queue_every_ten_minutes(bind, time_machine):
    binding = bind()
    _move_to(time_machine, binding.certificate.not_after + dt.timedelta(seconds=1))
    assert device_certificate_sweep_task.delay().get() == {
        **CertificateSweepResult().as_dict(),
        "expired": 1,
        "states_expired": 1,
    }
    route = celery_app.amqp.router.route({}, device_certificate_sweep_task.name, args=(), kwargs={})
    assert route["queue"].name == "default"
    assert settings.CELERY_BEAT_SCHEDULE["device-certificate-sweep"] == {
        "task": device_certificate_sweep_task.name,
        "schedule": 600.0,
    }
