"""A one-time challenge presented with another subject or other SANs: the administrator is shown what was
expected and what was received (the 20501 event, the device's certificate state); the device is not. Its
CertRep's failInfoText stays generic, so whoever holds a challenge cannot learn from it which identity the
challenge is good for.

Real round trips over HTTP with our own client against the live server (a strict service).
"""

from __future__ import annotations

import os

import pytest

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import NameOID

from ca.crypto.identities import upn_general_name
from ca.models import CertificateRequest, IssuedCertificate
from enrollment import scep
from enrollment.choices import TransactionStatus
from enrollment.models import ScepTransaction
from eventlog.choices import EventId
from eventlog.models import ConnectorEvent
from profiles.choices import CertificateState
from profiles.models import DeviceCertificateState
from profiles.tests.fixtures import delivery_for

os.environ.setdefault("DJANGO_LIVE_TEST_SERVER_ADDRESS", "127.0.0.1")

UPN = "jdoe@corp.example.com"
#: The profile's subject, CN first; RFC 4514 writes it last RDN first.
EXPECTED = "O=certportal tests,OU=Mobile,CN=jdoe"
#: The same attributes with OU before CN.
REORDERED = x509.Name(
    [
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "Mobile"),
        x509.NameAttribute(NameOID.COMMON_NAME, "jdoe"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "certportal tests"),
    ]
)
EXPECTED_NAME = x509.Name.from_rfc4514_string(EXPECTED)


@pytest.fixture
def profile(assign_to_users, scep_service, live_server):
    scep_service.allow_legacy_algorithms = False
    scep_service.save(update_fields=["allow_legacy_algorithms"])
    return assign_to_users(
        subject_name_format_string="CN={{UserName}},OU=Mobile,O=certportal tests",
        subject_alternative_names=[{"type": "upn", "value": "{{UserPrincipalName}}"}],
        scep_server_urls=[f"{live_server.url}/scep/{scep_service.slug}"],
    )


def send(live_server, service, rsa2048_key, subject: x509.Name, sans: list[x509.GeneralName], challenge: str):
    client = scep.ScepClient(
        f"{live_server.url}/scep/{service.slug}",
        ca_fingerprint=service.authority.certificate.fingerprint(hashes.SHA256()),
    )
    csr = scep.build_csr(rsa2048_key, subject, sans=sans, challenge_password=challenge)
    return client.enroll(csr, rsa2048_key)


def assert_nothing_issued() -> None:
    assert IssuedCertificate.objects.count() == 0
    assert CertificateRequest.objects.count() == 0


def test_ou_before_cn_is_refused_and_the_admin_sees_expected_and_received(
    profile, scep_service, device, live_server, rsa2048_key
):
    delivery = delivery_for(device, profile)
    assert delivery.rendered is not None
    assert delivery.rendered.subject == EXPECTED_NAME
    challenge = delivery.challenge
    received = REORDERED.rfc4514_string()
    assert received == "O=certportal tests,CN=jdoe,OU=Mobile"

    result = send(live_server, scep_service, rsa2048_key, REORDERED, [upn_general_name(UPN)], challenge)

    # The device: FAILURE badRequest, its own subject, nothing of the expected one.
    assert (result.status, result.fail_info) == (scep.PkiStatus.FAILURE, scep.FailInfo.BAD_REQUEST)
    assert result.fail_info_text == f"subject name in the request ({received}) does not match the challenge's"
    assert EXPECTED not in result.fail_info_text
    assert "expected" not in result.fail_info_text
    assert_nothing_issued()
    # What is stored for retransmissions (and answered to them) is the device's text too.
    transaction = ScepTransaction.objects.get()
    assert transaction.status == TransactionStatus.FAILURE
    assert transaction.fail_info_text == result.fail_info_text
    # The administrator: the 20501 event has both, in its message and its details, and names the device.
    rejected = ConnectorEvent.objects.get(event_id=EventId.CRP_VERIFY_WARNING)
    assert rejected.message == (
        f"challenge rejected: subject name in the request ({received}) does not match the challenge's; "
        f"expected subject {EXPECTED}, received {received} "
        "(the same attributes in another order: the RDNs must come in the profile's order)"
    )
    assert rejected.details == {
        "reason": "SubjectNameMismatch",
        "expected_subject": EXPECTED,
        "received_subject": received,
    }
    assert (rejected.device_id, rejected.user_principal_name) == (device.pk, UPN)
    # The 4005 event is the protocol's answer: the device's text.
    refused = ConnectorEvent.objects.get(event_id=EventId.SCEP_VERIFY_FAILURE)
    assert refused.message == result.fail_info_text
    # The device's certificate state: failed, with both.
    state = DeviceCertificateState.objects.get(device=device, profile=profile)
    assert state.state == CertificateState.FAILED
    assert state.reason == (
        f"SCEP request refused: subject name in the request ({received}) does not match the challenge's; "
        f"expected subject {EXPECTED}, received {received} "
        "(the same attributes in another order: the RDNs must come in the profile's order)"
    )


def test_other_sans_are_refused_and_only_the_admin_sees_the_expected_upn(
    profile, scep_service, device, live_server, rsa2048_key
):
    challenge = delivery_for(device, profile).challenge
    sans = [x509.RFC822Name("mallory@evil.example"), x509.DNSName("mallory.example")]

    result = send(live_server, scep_service, rsa2048_key, EXPECTED_NAME, sans, challenge)

    assert (result.status, result.fail_info) == (scep.PkiStatus.FAILURE, scep.FailInfo.BAD_REQUEST)
    assert result.fail_info_text == "subject alternative names in the request do not match the challenge's"
    assert UPN not in result.fail_info_text
    assert_nothing_issued()
    rejected = ConnectorEvent.objects.get(event_id=EventId.CRP_VERIFY_WARNING)
    assert rejected.message == (
        "challenge rejected: subject alternative names in the request do not match the challenge's; "
        f"expected subject alternative names UPN:{UPN}, received email:mallory@evil.example, "
        "DNS:mallory.example"
    )
    assert rejected.details == {
        "reason": "SubjectAltNameMismatch",
        "expected_sans": [f"UPN:{UPN}"],
        "received_sans": ["email:mallory@evil.example", "DNS:mallory.example"],
    }
    state = DeviceCertificateState.objects.get(device=device, profile=profile)
    assert state.state == CertificateState.FAILED
    assert (
        f"expected subject alternative names UPN:{UPN}, received email:mallory@evil.example" in state.reason
    )


def test_missing_sans_are_named_none(profile, scep_service, device, live_server, rsa2048_key):
    challenge = delivery_for(device, profile).challenge

    result = send(live_server, scep_service, rsa2048_key, EXPECTED_NAME, [], challenge)

    assert result.fail_info_text == "subject alternative names in the request do not match the challenge's"
    rejected = ConnectorEvent.objects.get(event_id=EventId.CRP_VERIFY_WARNING)
    assert rejected.message.endswith(f"expected subject alternative names UPN:{UPN}, received (none)")
    assert rejected.details["received_sans"] == []


def test_the_right_request_with_the_same_challenge_still_enrolls(
    profile, scep_service, device, live_server, rsa2048_key, other_rsa2048_key
):
    """A refused request does not use up the challenge: the device enrolls with it as it should."""
    challenge = delivery_for(device, profile).challenge
    refused = send(live_server, scep_service, rsa2048_key, REORDERED, [upn_general_name(UPN)], challenge)
    assert refused.status == scep.PkiStatus.FAILURE

    issued = send(
        live_server, scep_service, other_rsa2048_key, EXPECTED_NAME, [upn_general_name(UPN)], challenge
    )

    assert issued.status == scep.PkiStatus.SUCCESS
    assert issued.certificate is not None
    assert issued.certificate.subject == EXPECTED_NAME
    state = DeviceCertificateState.objects.get(device=device, profile=profile)
    assert state.state == CertificateState.ISSUED
