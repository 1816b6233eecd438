"""Verifying a one-time challenge (``profiles.scep_verifier``): what it authorises, and every refusal."""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from dataclasses import dataclass

import pytest

from cryptography import x509

from django.db import connection

from ca.models import CertificateAuthority, IssuedCertificate
from directory.models import Device, DeviceState, Platform
from directory.tests.factories import DeviceFactory, DirectoryUserFactory
from enrollment.exceptions import EnrollmentRefused
from enrollment.scep.constants import FailInfo
from enrollment.verifiers.base import ChallengeGrant
from profiles.choices import CertificateState
from profiles.models import DeviceCertificateState, DeviceChallenge, ProfileAssignment, ScepProfile
from profiles.scep_verifier import challenge_consume, challenge_verify
from profiles.services.checkin import ScepDelivery
from profiles.services.states import device_state_set
from profiles.tests.fixtures import build_csr, delivery_for

DIAG_DESERIALIZE_FAILED = 0x00000410
DIAG_CHALLENGE_EXPIRED = 0x00000411


@dataclass(frozen=True)
class Challenged:
    device: Device
    profile: ScepProfile
    delivery: ScepDelivery

    @property
    def challenge(self) -> str:
        return self.delivery.challenge

    def csr(self, key, *, subject: x509.Name | None = None, sans=None) -> x509.CertificateSigningRequest:
        rendered = self.delivery.rendered
        if subject is None:
            assert rendered is not None, self.delivery.problem
            subject = rendered.subject
        if sans is None:
            assert rendered is not None, self.delivery.problem
            sans = rendered.sans
        return build_csr(key, subject, sans, challenge=self.challenge)

    def state(self) -> DeviceCertificateState:
        return DeviceCertificateState.objects.get(device=self.device, profile=self.profile)


@pytest.fixture
def challenged(assigned, device) -> Challenged:
    return Challenged(device=device, profile=assigned, delivery=delivery_for(device, assigned))


def refusal(challenged: Challenged, csr: x509.CertificateSigningRequest, authority) -> EnrollmentRefused:
    with pytest.raises(EnrollmentRefused) as excinfo:
        challenge_verify(challenge=challenged.challenge, csr=csr, authority=authority)
    assert excinfo.value.fail_info is FailInfo.BAD_REQUEST
    return excinfo.value


def authorized(
    challenged: Challenged, csr: x509.CertificateSigningRequest, authority: CertificateAuthority
) -> ChallengeGrant:
    """``challenge_verify`` of the device's own challenge: an authorization (None is for foreign ones)."""
    authorization = challenge_verify(challenge=challenged.challenge, csr=csr, authority=authority)
    assert authorization is not None
    return authorization


def _id(grant: ChallengeGrant) -> uuid.UUID:
    assert grant.challenge_id is not None
    return grant.challenge_id


def test_a_valid_challenge_authorises_the_rendered_request(pki, challenged, rsa2048_key):
    authorization = challenge_verify(
        challenge=challenged.challenge, csr=challenged.csr(rsa2048_key), authority=pki.issuing
    )

    record = DeviceChallenge.objects.get()
    assert authorization is not None
    assert authorization.challenge_id == record.id
    assert authorization.subject == challenged.delivery.rendered.subject
    assert authorization.sans == challenged.delivery.rendered.sans
    assert (authorization.template, authorization.authority) == (pki.template, pki.issuing)
    assert (authorization.validity_days, authorization.sid) == (None, "")
    record.refresh_from_db()
    assert record.consumed_at is None  # verifying does not use the challenge up; consume() does
    assert challenged.state().state == CertificateState.CHALLENGE_ISSUED


@pytest.mark.parametrize(
    "challenge",
    ["s3cret-challenge", "cp1.", "cp1.0123.abc", "cp2.0123456789abcdef0123456789abcdef.abcdefghijklmnop"],
)
def test_a_challenge_that_is_not_ours_is_left_to_the_next_verifier(pki, rsa2048_key, challenge, db):
    csr = build_csr(rsa2048_key, x509.Name.from_rfc4514_string("CN=x"), challenge=challenge)
    assert challenge_verify(challenge=challenge, csr=csr, authority=pki.issuing) is None


def test_the_csr_of_another_device_is_refused(pki, challenged, assigned, user_group, rsa2048_key):
    other_user = DirectoryUserFactory.create(
        user_name="asmith", user_principal_name="asmith@corp.example.com"
    )
    user_group.users.add(other_user)
    other_device = DeviceFactory.create(platform=Platform.IOS, primary_user=other_user)
    other = delivery_for(other_device, assigned)
    assert other.rendered is not None, other.problem

    refused = refusal(
        challenged,
        challenged.csr(rsa2048_key, subject=other.rendered.subject, sans=other.rendered.sans),
        pki.issuing,
    )

    assert refused.reason_code == "SubjectNameMismatch"
    assert refused.text == (
        "subject name in the request (O=certportal tests,CN=asmith) does not match the challenge's"
    )
    assert refused.diagnostic_code is None
    state = challenged.state()
    assert (state.state, state.reason, state.diagnostic_code) == (
        CertificateState.FAILED,
        "SCEP request refused: subject name in the request (O=certportal tests,CN=asmith) "
        "does not match the challenge's; expected subject O=certportal tests,CN=jdoe, "
        "received O=certportal tests,CN=asmith",
        None,
    )


@pytest.mark.parametrize(
    "sans",
    [
        pytest.param([], id="no SANs"),
        pytest.param([x509.DNSName("evil.example.com")], id="other SAN"),
        pytest.param(None, id="extra SAN"),
    ],
)
def test_different_sans_are_refused(pki, challenged, rsa2048_key, sans):
    if sans is None:
        sans = [*challenged.delivery.rendered.sans, x509.DNSName("evil.example.com")]

    refused = refusal(challenged, challenged.csr(rsa2048_key, sans=sans), pki.issuing)

    assert refused.reason_code == "SubjectAltNameMismatch"
    assert refused.text == "subject alternative names in the request do not match the challenge's"
    assert challenged.state().state == CertificateState.FAILED


def test_a_key_of_another_size_is_refused(pki, assign_to_users, device, rsa2048_key):
    profile = assign_to_users(key_size=4096)
    challenged = Challenged(device=device, profile=profile, delivery=delivery_for(device, profile))

    refused = refusal(challenged, challenged.csr(rsa2048_key), pki.issuing)

    assert refused.reason_code == "KeyLengthMismatch"
    assert refused.text == "the request's key (2048) is not the RSA 4096-bit key the profile asks for"
    assert challenged.state().state == CertificateState.FAILED


def test_a_used_challenge_is_refused(pki, challenged, rsa2048_key, other_rsa2048_key):
    authorization = authorized(challenged, challenged.csr(rsa2048_key), pki.issuing)
    challenge_consume(challenge_id=_id(authorization))
    assert challenged.state().state == CertificateState.ISSUE_PENDING

    refused = refusal(challenged, challenged.csr(other_rsa2048_key), pki.issuing)

    assert refused.reason_code == "ChallengeAlreadyUsed"
    assert refused.text == "the challenge has already been used"


def test_consume_is_compare_and_set_one_of_two_wins(pki, challenged, rsa2048_key):
    csr = challenged.csr(rsa2048_key)
    first = authorized(challenged, csr, pki.issuing)
    second = authorized(challenged, csr, pki.issuing)

    challenge_consume(challenge_id=_id(first))
    with pytest.raises(EnrollmentRefused) as excinfo:
        challenge_consume(challenge_id=_id(second))

    assert excinfo.value.reason_code == "ChallengeAlreadyUsed"
    assert DeviceChallenge.objects.filter(consumed_at__isnull=False).count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_consumes_one_wins(pki, challenged, rsa2048_key):
    csr = challenged.csr(rsa2048_key)
    authorizations = [authorized(challenged, csr, pki.issuing) for _ in range(2)]
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def consume(index: int) -> None:
        try:
            barrier.wait(timeout=5)
            challenge_consume(challenge_id=_id(authorizations[index]))
            outcomes.append("consumed")
        except EnrollmentRefused as exc:
            outcomes.append(exc.reason_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=consume, args=(index,)) for index in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)

    assert sorted(outcomes) == ["ChallengeAlreadyUsed", "consumed"]


def test_an_expired_challenge_is_refused_with_diagnostic_0x411(pki, challenged, rsa2048_key, time_machine):
    time_machine.move_to(challenged.delivery.challenge_expires_at + dt.timedelta(seconds=1), tick=False)

    refused = refusal(challenged, challenged.csr(rsa2048_key), pki.issuing)

    assert refused.reason_code == "ChallengeExpired"
    assert refused.diagnostic_code == DIAG_CHALLENGE_EXPIRED == 1041
    state = challenged.state()
    assert (state.state, state.reason, state.diagnostic_code) == (
        CertificateState.FAILED,
        "SCEP request refused: request denied due to expired certificate challenge; "
        "check in again for a new one",
        1041,
    )


def test_a_challenge_is_valid_until_just_before_it_expires(pki, challenged, rsa2048_key, time_machine):
    time_machine.move_to(challenged.delivery.challenge_expires_at - dt.timedelta(seconds=1), tick=False)

    assert challenge_verify(
        challenge=challenged.challenge, csr=challenged.csr(rsa2048_key), authority=pki.issuing
    )


@pytest.mark.parametrize("tamper", ["secret", "id"])
def test_a_tampered_challenge_is_refused_with_diagnostic_0x410(pki, challenged, rsa2048_key, tamper):
    prefix, identifier, secret = challenged.challenge.split(".")
    if tamper == "secret":
        forged = f"{prefix}.{identifier}.{secret[:-1]}{'A' if secret[-1] != 'A' else 'B'}"
    else:
        forged = f"{prefix}.{'0' * 32}.{secret}"
    csr = build_csr(rsa2048_key, challenged.delivery.rendered.subject, challenged.delivery.rendered.sans)

    with pytest.raises(EnrollmentRefused) as excinfo:
        challenge_verify(challenge=forged, csr=csr, authority=pki.issuing)

    assert excinfo.value.reason_code == "ChallengeDeserializationError"
    assert excinfo.value.diagnostic_code == DIAG_DESERIALIZE_FAILED == 1040
    assert excinfo.value.text == "the challenge cannot be validated; get a new one by checking in"
    # A forged request proves nothing about the device: its state is left alone.
    assert challenged.state().state == CertificateState.CHALLENGE_ISSUED


@pytest.mark.parametrize("state", [DeviceState.RETIRED, DeviceState.WIPED])
def test_a_challenge_of_a_device_that_left_management_is_refused(pki, challenged, rsa2048_key, state):
    Device.objects.filter(pk=challenged.device.pk).update(state=state)

    refused = refusal(challenged, challenged.csr(rsa2048_key), pki.issuing)

    assert refused.reason_code == "BadDeviceIdInChallenge"
    assert refused.text == f"the device is {state.label.lower()}"
    assert challenged.state().reason == f"SCEP request refused: the device is {state.label.lower()}"


def test_a_challenge_issued_before_the_profile_changed_is_refused(pki, challenged, rsa2048_key):
    """The challenge was handed out for version 1 of the profile; an edit since makes it stale, even when
    the request still matches what the challenge was bound to.
    """
    ScepProfile.objects.filter(pk=challenged.profile.pk).update(version=challenged.profile.version + 1)

    refused = refusal(challenged, challenged.csr(rsa2048_key), pki.issuing)

    assert refused.reason_code == "ScepProfileVersionMismatch"
    assert refused.text == (
        f"the SCEP profile changed since the challenge was issued (version {challenged.profile.version}, "
        f"now {challenged.profile.version + 1}); check in again for a new one"
    )
    assert challenged.state().state == CertificateState.FAILED
    assert DeviceChallenge.objects.get().consumed_at is None


def test_a_challenge_of_a_profile_unassigned_since_is_refused(pki, challenged, rsa2048_key):
    ProfileAssignment.objects.filter(scep_profile=challenged.profile).delete()

    refused = refusal(challenged, challenged.csr(rsa2048_key), pki.issuing)

    assert refused.reason_code == "ScepProfileNoLongerTargetedToTheClient"
    assert refused.text == "the SCEP profile is no longer assigned to this device"
    assert challenged.state().state == CertificateState.FAILED


def test_a_challenge_whose_root_profile_was_unassigned_since_is_refused(pki, challenged, rsa2048_key):
    ProfileAssignment.objects.filter(trusted_root_profile__isnull=False).delete()

    refused = refusal(challenged, challenged.csr(rsa2048_key), pki.issuing)

    assert refused.reason_code == "ScepProfileNoLongerTargetedToTheClient"


def test_a_challenge_presented_to_another_ca_is_refused(pki, challenged, rsa2048_key):
    refused = refusal(challenged, challenged.csr(rsa2048_key), pki.root)

    assert refused.reason_code == "BadCertificateRequestIdInChallenge"
    assert refused.text == (
        "the profile's certificates come from CA Test Issuing CA, not from this SCEP service's CA"
    )


@pytest.mark.parametrize("held", [CertificateState.ISSUED, CertificateState.RENEWAL_DUE])
def test_a_refusal_does_not_turn_a_device_holding_its_certificate_into_failed(
    pki, challenged, issue, rsa2048_key, held
):
    certificate = IssuedCertificate.objects.get(request=issue(common_name="jdoe"))
    device_state_set(
        device=challenged.device, profile=challenged.profile, state=held, certificate=certificate
    )

    refused = refusal(challenged, challenged.csr(rsa2048_key, sans=[]), pki.issuing)

    assert refused.reason_code == "SubjectAltNameMismatch"
    state = challenged.state()
    assert (state.state, state.reason, state.certificate) == (held, "", certificate)
