"""One-time challenges through the SCEP pipeline (``OneTimeChallengeVerifier``) at /scep/<slug>: issuance with
the rendered request, refusals recorded as events and device states, strong mapping, subject injection.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from asn1crypto import core as asn1core
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from django.db import DatabaseError

from ca.crypto.identities import upn_general_name
from ca.models import IssuedCertificate
from ca.tests.pki import openssl, openssl_verify, write_pem
from directory.models import Device
from enrollment import scep
from enrollment.choices import Authorization
from enrollment.models import ScepService, ScepTransaction
from enrollment.services.registration import scep_service_create
from eventlog.choices import EventId, EventLevel
from eventlog.models import ConnectorEvent
from profiles import scep_verifier
from profiles.choices import CertificateState
from profiles.models import (
    DeviceCertificate,
    DeviceCertificateState,
    DeviceChallenge,
    ProfileAssignment,
    ScepProfile,
)
from profiles.services.checkin import ScepDelivery
from profiles.services.profiles import scep_profile_update
from profiles.tests.fixtures import SID, ScepExchange, build_csr, delivery_for, scep_enroll

OID_NTDS_CA_SECURITY_EXT = x509.ObjectIdentifier("1.3.6.1.4.1.311.25.2")
SID_URI = f"tag:microsoft.com,2022-09-14:sid:{SID}"


class _SidOtherName(asn1core.Sequence):  # type: ignore[misc]  # asn1crypto has no type hints
    _fields = [("type_id", asn1core.ObjectIdentifier), ("value", asn1core.OctetString, {"explicit": 0})]


class _SecurityExtension(asn1core.Sequence):  # type: ignore[misc]  # asn1crypto has no type hints
    """szOID_NTDS_CA_SECURITY_EXT as AD CS writes it (KB5014754), read independently of ca.crypto."""

    _fields = [("sid", _SidOtherName, {"implicit": 0})]


@dataclass(frozen=True)
class Enrollment:
    device: Device
    profile: ScepProfile
    delivery: ScepDelivery
    exchange: ScepExchange

    @property
    def reply(self) -> scep.CertRepResult:
        return self.exchange.reply

    def state(self) -> DeviceCertificateState:
        return DeviceCertificateState.objects.get(device=self.device, profile=self.profile)


Enroll = Callable[..., Enrollment]


@pytest.fixture
def enroll(client, scep_service, device, rsa2048_key) -> Enroll:
    """``enroll(profile, ...)``: check the device in (or use ``delivery``), build the CSR from what it got
    (``subject``, ``sans``, ``challenge`` replace those), and send it to the SCEP service with ``key``."""

    def _enroll(
        profile: ScepProfile,
        *,
        service: ScepService | None = None,
        key: Any = None,
        delivery: ScepDelivery | None = None,
        **changes: Any,
    ) -> Enrollment:
        key = key or rsa2048_key
        delivery = delivery or delivery_for(device, profile)
        assert delivery.rendered is not None, delivery.problem
        csr = build_csr(
            key,
            changes.get("subject", delivery.rendered.subject),
            changes.get("sans", delivery.rendered.sans),
            challenge=changes.get("challenge", delivery.challenge),
        )
        return Enrollment(device, profile, delivery, scep_enroll(client, service or scep_service, key, csr))

    return _enroll


def thumbprint(certificate: x509.Certificate) -> str:
    return certificate.fingerprint(hashes.SHA1()).hex().upper()  # noqa: S303 - a thumbprint


def verify_failure_event(enrollment: Enrollment) -> ConnectorEvent:
    return ConnectorEvent.objects.get(
        event_id=EventId.SCEP_VERIFY_FAILURE, transaction_id=enrollment.exchange.transaction_id
    )


def assert_refused(enrollment: Enrollment, text: str) -> None:
    reply = enrollment.reply
    assert reply.status is scep.PkiStatus.FAILURE
    assert reply.fail_info is scep.FailInfo.BAD_REQUEST
    assert reply.fail_info_text == text
    assert reply.certificates == ()
    assert not IssuedCertificate.objects.filter(template__name="TestClientAuth").exists()
    event = verify_failure_event(enrollment)
    assert (event.message, event.level, event.fail_info) == (
        text,
        EventLevel.WARNING,
        int(scep.FailInfo.BAD_REQUEST),
    )


# --- issuance -------------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_device_enrolls_with_its_challenge_and_gets_the_rendered_request(enroll, pki, assigned, tmp_path):
    enrollment = enroll(assigned)

    assert enrollment.reply.status is scep.PkiStatus.SUCCESS, enrollment.reply.fail_info_text
    certificate = enrollment.reply.certificate
    assert certificate.subject == enrollment.delivery.rendered.subject
    assert certificate.issuer == pki.issuing.certificate.subject
    san = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert list(san) == [upn_general_name("jdoe@corp.example.com")]
    eku = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    openssl_verify(tmp_path, certificate, pki.issuing.certificate, pki.root.certificate)

    issued = IssuedCertificate.objects.get(fingerprint_sha1=thumbprint(certificate))
    assert (issued.authority, issued.template) == (pki.issuing, pki.template)
    state = enrollment.state()
    assert (state.state, state.certificate) == (CertificateState.ISSUED, issued)
    binding = DeviceCertificate.objects.get(certificate=issued)
    assert (binding.device, binding.profile) == (enrollment.device, assigned)
    record = DeviceChallenge.objects.get()
    assert record.consumed_at is not None
    transaction = ScepTransaction.objects.get(transaction_id=enrollment.exchange.transaction_id)
    assert (transaction.authorization, transaction.challenge) == (Authorization.ONE_TIME_CHALLENGE, record)
    secret = enrollment.delivery.challenge.split(".")[2]
    assert all(secret not in str(value) for value in vars(transaction).values())
    assert ConnectorEvent.objects.filter(
        event_id=EventId.CRP_NOTIFY_SUCCESS, transaction_id=enrollment.exchange.transaction_id
    ).exists()


@pytest.mark.django_db(transaction=True)
def test_the_certificate_carries_the_profiles_key_usage_and_ekus_within_the_templates(
    enroll, pki, assign_to_users
):
    """The template allows signature and encipherment and two EKUs; the profile asks for signature only
    and Client Authentication only: the certificate carries exactly the intersection.
    """
    smartcard = ExtendedKeyUsageOID.SMARTCARD_LOGON.dotted_string
    pki.template.application_policies = [ExtendedKeyUsageOID.CLIENT_AUTH.dotted_string, smartcard]
    pki.template.save()
    profile = assign_to_users(
        key_usage_key_encipherment=False,
        extended_key_usages=[{"name": "Client Authentication", "oid": "1.3.6.1.5.5.7.3.2"}],
    )

    enrollment = enroll(profile)

    assert enrollment.reply.status is scep.PkiStatus.SUCCESS, enrollment.reply.fail_info_text
    certificate = enrollment.reply.certificate
    usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    assert (usage.digital_signature, usage.key_encipherment) == (True, False)
    eku = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.CLIENT_AUTH]


@pytest.mark.django_db(transaction=True)
def test_the_events_of_an_enrollment_name_the_device_and_user_of_the_challenge(enroll, assigned, device):
    """The grant carries whom the challenge was issued for: the pipeline links its events to them."""
    enrollment = enroll(assigned)

    assert enrollment.reply.status is scep.PkiStatus.SUCCESS, enrollment.reply.fail_info_text
    challenge = DeviceChallenge.objects.select_related("user").get()
    assert challenge.user is not None
    events = ConnectorEvent.objects.filter(transaction_id=enrollment.exchange.transaction_id).order_by("id")
    assert [event.event_id for event in events] == [EventId.CRP_VERIFY_SUCCESS, EventId.CRP_NOTIFY_SUCCESS]
    user = challenge.user
    for event in events:
        assert (event.device_id, event.device_external_id) == (device.pk, device.external_id), event
        assert (event.user_id, event.user_principal_name) == (user.pk, user.user_principal_name), event
        assert event.authority_slug == assigned.authority.slug
        assert event.template_name == assigned.template.name
    assert events[0].message == "challenge verified (one-time device challenge) by OneTimeChallengeVerifier"
    issued = IssuedCertificate.objects.get(fingerprint_sha1=thumbprint(enrollment.reply.certificate))
    assert (events[1].serial, events[1].thumbprint) == (issued.serial, issued.fingerprint_sha1)


@pytest.mark.django_db(transaction=True)
def test_a_used_challenge_is_refused_and_the_issued_state_is_kept(enroll, assigned, other_rsa2048_key):
    first = enroll(assigned)
    assert first.reply.status is scep.PkiStatus.SUCCESS

    second = enroll(assigned, delivery=first.delivery, key=other_rsa2048_key)

    assert second.reply.status is scep.PkiStatus.FAILURE
    assert second.reply.fail_info is scep.FailInfo.BAD_REQUEST
    assert second.reply.fail_info_text == "the challenge has already been used"
    assert IssuedCertificate.objects.filter(template__name="TestClientAuth").count() == 1
    event = verify_failure_event(second)
    assert (event.message, event.level, event.fail_info) == (
        "the challenge has already been used",
        EventLevel.WARNING,
        int(scep.FailInfo.BAD_REQUEST),
    )
    state = second.state()
    assert state.state == CertificateState.ISSUED
    assert state.certificate.fingerprint_sha1 == thumbprint(first.reply.certificate)


# --- refusals -------------------------------------------------------------------------------------------


def test_another_subject_is_refused_and_recorded(enroll, assigned):
    other = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, "Administrator"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "certportal tests"),
        ]
    )

    enrollment = enroll(assigned, subject=other)

    text = "subject name in the request (O=certportal tests,CN=Administrator) does not match the challenge's"
    assert_refused(enrollment, text)
    assert verify_failure_event(enrollment).diagnostic_code is None
    state = enrollment.state()
    assert (state.state, state.reason) == (
        CertificateState.FAILED,
        f"SCEP request refused: {text}; expected subject O=certportal tests,CN=jdoe, "
        "received O=certportal tests,CN=Administrator",
    )


def test_other_sans_are_refused_and_recorded(enroll, assigned):
    enrollment = enroll(assigned, sans=[upn_general_name("administrator@corp.example.com")])

    assert_refused(enrollment, "subject alternative names in the request do not match the challenge's")
    assert enrollment.state().state == CertificateState.FAILED


def test_an_expired_challenge_is_refused_with_diagnostic_0x411(enroll, assigned, device, time_machine):
    delivery = delivery_for(device, assigned)
    assert delivery.challenge_expires_at is not None
    time_machine.move_to(delivery.challenge_expires_at + dt.timedelta(minutes=1), tick=False)

    enrollment = enroll(assigned, delivery=delivery)

    assert_refused(
        enrollment, "request denied due to expired certificate challenge; check in again for a new one"
    )
    event = verify_failure_event(enrollment)
    assert (event.diagnostic_code, event.diagnostic_code_hex) == (0x411, "0x00000411")
    rejected = ConnectorEvent.objects.get(event_id=EventId.CRP_VERIFY_WARNING)
    assert (rejected.level, rejected.diagnostic, rejected.details["reason"]) == (
        EventLevel.WARNING,
        "0x00000411 CRPSCEPChallenge_Expired",
        "ChallengeExpired",
    )
    assert rejected.transaction_id == enrollment.exchange.transaction_id
    # The refusal is on the device's and user's timeline, not only the transaction's.
    assert (rejected.device_id, rejected.device_external_id) == (device.pk, device.external_id)
    assert rejected.user_id is not None
    state = enrollment.state()
    assert (state.state, state.diagnostic_code) == (CertificateState.FAILED, 1041)


def test_a_tampered_challenge_is_refused_with_diagnostic_0x410(enroll, assigned, device):
    delivery = delivery_for(device, assigned)
    forged = delivery.challenge[:-4] + ("BBBB" if delivery.challenge.endswith("AAAA") else "AAAA")

    enrollment = enroll(assigned, delivery=delivery, challenge=forged)

    assert_refused(enrollment, "the challenge cannot be validated; get a new one by checking in")
    assert verify_failure_event(enrollment).diagnostic_code == 0x410
    unverified = ConnectorEvent.objects.get(event_id=EventId.CRP_VERIFY_FAILURE)
    assert (unverified.level, unverified.diagnostic, unverified.details["reason"]) == (
        EventLevel.ERROR,
        "0x00000410 CRPSCEPDeserialize_Failed",
        "ChallengeDeserializationError",
    )
    assert not ConnectorEvent.objects.filter(event_id=EventId.CRP_VERIFY_WARNING).exists()
    # A forged request proves nothing about the device: its state is left alone.
    assert enrollment.state().state == CertificateState.CHALLENGE_ISSUED


def test_a_challenge_presented_to_the_scep_service_of_another_ca_is_refused(
    enroll, assigned, root_scep_service
):
    enrollment = enroll(assigned, service=root_scep_service)

    assert_refused(
        enrollment, "the profile's certificates come from CA Test Issuing CA, not from this SCEP service's CA"
    )
    assert verify_failure_event(enrollment).service_slug == root_scep_service.slug


def test_a_challenge_of_a_profile_unassigned_since_is_refused(enroll, assigned, device):
    delivery = delivery_for(device, assigned)
    ProfileAssignment.objects.filter(scep_profile=assigned).delete()

    enrollment = enroll(assigned, delivery=delivery)

    assert_refused(enrollment, "the SCEP profile is no longer assigned to this device")


def test_a_challenge_handed_out_before_the_profile_was_edited_is_refused(enroll, assigned, device):
    """The edit (here: the description) bumps the profile's version; the challenge is stale although the
    request still matches the subject and SANs it was bound to.
    """
    delivery = delivery_for(device, assigned)
    scep_profile_update(profile=assigned, description="edited after the check-in")
    assert assigned.version == 2

    enrollment = enroll(assigned, delivery=delivery)

    assert_refused(
        enrollment,
        "the SCEP profile changed since the challenge was issued (version 1, now 2); "
        "check in again for a new one",
    )
    assert verify_failure_event(enrollment).details["reason"] == "ScepProfileVersionMismatch"
    assert DeviceChallenge.objects.get().consumed_at is None
    assert enrollment.state().state == CertificateState.FAILED


@pytest.mark.django_db(transaction=True)
def test_a_failing_notification_is_recorded_and_the_device_still_gets_its_certificate(
    enroll, assigned, monkeypatch
):
    def broken(**kwargs: Any) -> None:
        raise DatabaseError("the device state could not be written")

    monkeypatch.setattr(scep_verifier, "device_enrollment_succeeded", broken)

    enrollment = enroll(assigned)

    assert enrollment.reply.status is scep.PkiStatus.SUCCESS, enrollment.reply.fail_info_text
    issued = IssuedCertificate.objects.get(fingerprint_sha1=thumbprint(enrollment.reply.certificate))
    transaction = ScepTransaction.objects.get(transaction_id=enrollment.exchange.transaction_id)
    assert (transaction.status, transaction.certificate) == ("success", issued)
    event = ConnectorEvent.objects.get(event_id=EventId.CRP_NOTIFY_FAILURE)
    assert (event.level, event.diagnostic_code, event.scep_transaction_id) == (
        EventLevel.ERROR,
        0x0FFFFFFF,
        transaction.pk,
    )
    assert "could not record the outcome: the device state could not be written" in event.message
    assert not DeviceCertificate.objects.filter(certificate=issued).exists()  # rolled back, not half-written


def test_a_challenge_is_good_only_at_the_scep_service_of_its_profile(enroll, assigned, scep_service):
    """A second service of the same CA (say, one allowing legacy algorithms) does not take the challenge the
    profile's service was meant to see.
    """
    other = scep_service_create(
        slug="legacy-too",
        name="Another service of the same CA",
        authority=scep_service.authority,
        registration_authority=scep_service.registration_authority,
        general_purpose_template=scep_service.general_purpose_template,
        allow_legacy_algorithms=True,
    )

    enrollment = enroll(assigned, service=other)

    assert_refused(
        enrollment,
        "the challenge was issued for the profile's SCEP servers (/scep/profiles), "
        "not for SCEP service legacy-too",
    )
    assert verify_failure_event(enrollment).details["reason"] == "ScepServiceMismatch"
    assert DeviceChallenge.objects.get().consumed_at is None


def test_a_challenge_of_a_retired_device_is_refused(enroll, assigned, device):
    delivery = delivery_for(device, assigned)
    Device.objects.filter(pk=device.pk).update(state="retired")

    enrollment = enroll(assigned, delivery=delivery)

    assert_refused(enrollment, "the device is retired")


def test_a_service_not_accepting_one_time_challenges_does_not_know_them(enroll, assigned, scep_service):
    scep_service.accept_one_time_challenges = False
    scep_service.save()

    enrollment = enroll(assigned)

    assert_refused(enrollment, "the challenge password is not valid for this SCEP service")
    assert DeviceChallenge.objects.get().consumed_at is None
    assert enrollment.state().state == CertificateState.CHALLENGE_ISSUED


# --- strong mapping (KB5014754) -------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_include_sid_uri_puts_the_sid_san_uri_in_the_certificate(enroll, assign_to_users):
    enrollment = enroll(assign_to_users(include_sid_uri=True))

    assert x509.UniformResourceIdentifier(SID_URI) in enrollment.delivery.rendered.sans
    assert enrollment.reply.status is scep.PkiStatus.SUCCESS, enrollment.reply.fail_info_text
    extension = enrollment.reply.certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    assert extension.value.get_values_for_type(x509.UniformResourceIdentifier) == [SID_URI]
    assert extension.value.get_values_for_type(x509.OtherName) == [upn_general_name("jdoe@corp.example.com")]


@pytest.mark.django_db(transaction=True)
def test_include_sid_extension_puts_the_sid_extension_in_the_certificate(enroll, assign_to_users):
    enrollment = enroll(assign_to_users(include_sid_extension=True))

    assert enrollment.reply.status is scep.PkiStatus.SUCCESS, enrollment.reply.fail_info_text
    extension = enrollment.reply.certificate.extensions.get_extension_for_oid(OID_NTDS_CA_SECURITY_EXT)
    assert extension.critical is False
    parsed = _SecurityExtension.load(extension.value.value)
    assert parsed["sid"]["type_id"].dotted == "1.3.6.1.4.1.311.25.2.1"
    assert parsed["sid"]["value"].native == SID.encode("ascii")
    assert DeviceChallenge.objects.get().sid == SID


def test_include_sid_uri_fails_for_a_user_without_a_sid(assign_to_users, user, device):
    profile = assign_to_users(include_sid_uri=True)
    user.on_premises_security_identifier = ""
    user.save()

    delivery = delivery_for(device, profile)

    assert delivery.challenge == ""
    assert delivery.problem == (
        "user has no on-premises security identifier (SID), required by {{OnPremisesSecurityIdentifier}} "
        "in the URI subject alternative name"
    )
    state = DeviceCertificateState.objects.get(device=device, profile=profile)
    assert (state.state, state.reason) == (CertificateState.FAILED, delivery.problem)


def test_include_sid_extension_fails_for_a_user_without_a_sid(assign_to_users, user, device):
    profile = assign_to_users(include_sid_extension=True)
    user.on_premises_security_identifier = ""
    user.save()

    delivery = delivery_for(device, profile)

    assert delivery.challenge == ""
    assert "security identifier" in delivery.problem
    assert DeviceCertificateState.objects.get(device=device, profile=profile).state == CertificateState.FAILED


# --- subject injection ----------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_user_name_with_rdn_syntax_stays_one_cn_value(enroll, assign_to_users, user, tmp_path):
    user.user_name = "Eve, CN=Administrator"
    user.save()
    profile = assign_to_users(subject_name_format_string="CN={{UserName}}", subject_alternative_names=[])

    enrollment = enroll(profile)

    assert enrollment.reply.status is scep.PkiStatus.SUCCESS, enrollment.reply.fail_info_text
    certificate = enrollment.reply.certificate
    assert certificate.subject == enrollment.delivery.rendered.subject
    assert [rdn.rfc4514_string() for rdn in certificate.subject.rdns] == ["CN=Eve\\, CN=Administrator"]
    assert [a.value for a in certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)] == [
        "Eve, CN=Administrator"
    ]
    path = write_pem(tmp_path / "injected.pem", certificate)
    shown = openssl("x509", "-in", str(path), "-noout", "-subject", "-nameopt", "RFC2253").stdout
    assert shown.strip() == "subject=CN=Eve\\, CN=Administrator"
