"""Device check-in (``device_checkin``): rendering, one-time challenges, device certificate states."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest

from cryptography import x509
from cryptography.x509.oid import NameOID

from django.utils import timezone

from ca.crypto.identities import upn_general_name
from ca.models import IssuedCertificate
from directory.models import Device
from profiles.choices import CertificateState
from profiles.models import DeviceCertificateState, DeviceChallenge
from profiles.services.checkin import challenge_digest, device_checkin
from profiles.services.profiles import scep_profile_update
from profiles.services.states import device_state_set
from profiles.tests.fixtures import assign, delivery_for

CHALLENGE = re.compile(r"^cp1\.([0-9a-f]{32})\.([A-Za-z0-9_-]{32})$")
NOW = dt.datetime(2026, 11, 25, 9, 0, tzinfo=dt.UTC)


def state_of(device: Device, profile) -> DeviceCertificateState:
    return DeviceCertificateState.objects.get(device=device, profile=profile)


def test_checkin_returns_the_roots_and_the_rendered_request_with_a_challenge(
    assigned, root_profile, device, user, time_machine
):
    time_machine.move_to(NOW, tick=False)

    result = device_checkin(device=device)

    assert result.device == device
    assert result.trusted_roots == (root_profile,)
    (delivery,) = result.scep
    assert delivery.profile == assigned
    assert delivery.problem == ""
    assert delivery.rendered is not None
    assert delivery.rendered.subject == x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, "jdoe"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "certportal tests"),
        ]
    )
    assert delivery.rendered.sans == (upn_general_name("jdoe@corp.example.com"),)
    match = CHALLENGE.match(delivery.challenge)
    assert match is not None, delivery.challenge
    assert delivery.challenge_expires_at == NOW + dt.timedelta(minutes=60)

    record = DeviceChallenge.objects.get()
    assert record.id.hex == match.group(1)
    assert (record.device, record.profile, record.profile_version, record.user) == (device, assigned, 1, user)
    assert record.canonical_subject == "2.5.4.3=jdoe,2.5.4.10=certportal tests"
    assert record.canonical_sans == ["upn:jdoe@corp.example.com"]
    assert (record.key_size, record.validity_days, record.sid) == (2048, None, "")
    assert record.expires_at == NOW + dt.timedelta(minutes=60)
    assert record.consumed_at is None

    state = state_of(device, assigned)
    assert (state.state, state.reason, state.certificate) == (CertificateState.CHALLENGE_ISSUED, "", None)
    device.refresh_from_db()
    assert device.last_checkin_at == NOW


def test_the_challenge_is_stored_only_as_an_hmac(assigned, device):
    delivery = delivery_for(device, assigned)
    match = CHALLENGE.match(delivery.challenge)
    assert match is not None, delivery.challenge
    secret = match.group(2)

    record = DeviceChallenge.objects.get()
    stored = {
        field.attname: getattr(record, field.attname) for field in DeviceChallenge._meta.concrete_fields
    }
    dumped = json.dumps(stored, default=str)

    assert secret not in dumped
    assert delivery.challenge not in dumped
    assert record.secret_digest == challenge_digest(secret)
    assert len(record.secret_digest) == 64


def test_checking_in_again_gets_the_same_live_challenge(assigned, device):
    """200 check-ins leave one live challenge, not 200 (the secret is derived from the challenge's id under
    SECRET_KEY, so it can be handed out again without being stored)."""
    first = delivery_for(device, assigned).challenge
    again = [delivery_for(device, assigned).challenge for _ in range(5)]

    assert again == [first] * 5
    assert DeviceChallenge.objects.filter(device=device, profile=assigned).count() == 1


def test_a_new_challenge_replaces_the_live_one_when_the_request_changes(assigned, device, user, time_machine):
    first = delivery_for(device, assigned).challenge
    user.user_name = "jane"
    user.save()

    second = delivery_for(device, assigned).challenge

    assert second != first
    live = DeviceChallenge.objects.filter(device=device, profile=assigned, expires_at__gt=timezone.now())
    assert [record.id.hex for record in live] == [second.split(".")[1]]  # the first one ended

    scep_profile_update(profile=assigned, description="v2")
    third = delivery_for(device, assigned).challenge
    assert third not in (first, second)

    record = DeviceChallenge.objects.get(id=third.split(".")[1])
    time_machine.move_to(record.expires_at, tick=False)
    assert delivery_for(device, assigned).challenge != third  # expired: a new one


def test_a_used_challenge_is_not_handed_out_again(assigned, device):
    first = delivery_for(device, assigned).challenge
    DeviceChallenge.objects.update(consumed_at=timezone.now())

    assert delivery_for(device, assigned).challenge != first


def test_preview_renders_without_a_challenge(assigned, device):
    (delivery,) = device_checkin(device=device, issue_challenges=False).scep

    assert delivery.challenge == ""
    assert delivery.rendered is not None
    assert not DeviceChallenge.objects.exists()


def test_a_device_lacking_a_variable_fails_with_a_readable_reason_and_no_challenge(
    make_profile, root_profile, user_group, device
):
    profile = make_profile(subject_name_format_string="CN={{IMEI}}")
    assign(profile, user_group)
    assign(root_profile, user_group)
    device.imei = ""
    device.save()

    delivery = delivery_for(device, profile)

    assert delivery.challenge == ""
    assert delivery.rendered is None
    assert delivery.problem == "device has no IMEI, required by {{IMEI}} in the subject"
    assert not DeviceChallenge.objects.exists()
    state = state_of(device, profile)
    assert (state.state, state.reason) == (CertificateState.FAILED, delivery.problem)


def test_a_failed_profile_recovers_once_the_variable_is_there(make_profile, root_profile, user_group, device):
    profile = make_profile(subject_name_format_string="CN={{IMEI}}")
    assign(profile, user_group)
    assign(root_profile, user_group)
    device.imei = ""
    device.save()
    delivery_for(device, profile)
    device.imei = "356938035643809"
    device.save()

    delivery = delivery_for(device, profile)

    assert delivery.rendered is not None, delivery.problem
    assert delivery.rendered.subject.rfc4514_string() == "CN=356938035643809"
    assert state_of(device, profile).state == CertificateState.CHALLENGE_ISSUED
    assert state_of(device, profile).reason == ""


@pytest.fixture
def holding(assigned, device, issue) -> IssuedCertificate:
    """The device holds a certificate (365 days, from the issuing CA) for the profile."""
    certificate = IssuedCertificate.objects.get(request=issue(common_name="jdoe"))
    device_state_set(device=device, profile=assigned, state=CertificateState.ISSUED, certificate=certificate)
    return certificate


def lifetime_point(certificate: IssuedCertificate, fraction: float) -> dt.datetime:
    return certificate.not_before + (certificate.not_after - certificate.not_before) * fraction


def test_a_certificate_within_its_renewal_threshold_stays_issued(assigned, device, holding, time_machine):
    time_machine.move_to(lifetime_point(holding, 0.79), tick=False)

    delivery = delivery_for(device, assigned)

    assert delivery.challenge
    state = state_of(device, assigned)
    assert (state.state, state.certificate) == (CertificateState.ISSUED, holding)


def test_a_certificate_past_the_renewal_threshold_is_renewal_due(assigned, device, holding, time_machine):
    time_machine.move_to(lifetime_point(holding, 0.81), tick=False)

    delivery = delivery_for(device, assigned)

    assert delivery.challenge  # the device gets a challenge to renew with
    state = state_of(device, assigned)
    assert state.state == CertificateState.RENEWAL_DUE
    assert state.reason == "less than 20% of the certificate's lifetime remains"
    assert state.certificate == holding
    assert state.state_changed_at == timezone.now()


def test_the_renewal_threshold_follows_the_profile(assign_to_users, device, issue, time_machine):
    profile = assign_to_users(renewal_threshold_percentage=50)
    certificate = IssuedCertificate.objects.get(request=issue(common_name="jdoe"))
    device_state_set(device=device, profile=profile, state=CertificateState.ISSUED, certificate=certificate)
    time_machine.move_to(lifetime_point(certificate, 0.51), tick=False)

    delivery_for(device, profile)

    state = state_of(device, profile)
    assert (state.state, state.reason) == (
        CertificateState.RENEWAL_DUE,
        "less than 50% of the certificate's lifetime remains",
    )
