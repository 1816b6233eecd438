"""A device's certificate is renewed (RenewalReq, 17) only while what it says still holds in the directory.

Before, any RenewalReq signed by a current certificate of the CA got a new certificate: after its user was
disabled or renamed, the device retired (its revocation still queued) or the profile unassigned (with
revoke-on-removal off), the device still renewed with the old identity. Now the profiles verifier's
``renewal_verify`` refuses those (CertRep FAILURE badRequest: the device must check in and enroll
afresh), recorded with the device and the user, and nothing is issued; a renewal that still holds works.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import pytest

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from ca.crypto.keys import spki_sha256
from ca.models import IssuedCertificate
from ca.services import revocation_requests
from directory.models import Device, DeviceState, DirectoryUser
from directory.services.users import user_update
from enrollment import scep
from enrollment.choices import Authorization, TransactionStatus
from enrollment.models import ScepService, ScepTransaction
from eventlog.choices import EventId, EventLevel
from eventlog.models import ConnectorEvent
from profiles.choices import CertificateState
from profiles.models import DeviceCertificate, DeviceCertificateState, ProfileAssignment, ScepProfile
from profiles.services.devices import device_retire
from profiles.services.profiles import assignment_delete, scep_profile_update
from profiles.tests.fixtures import build_csr, delivery_for, scep_enroll

pytestmark = pytest.mark.django_db(transaction=True)  # the CA issues when the view's transaction commits

ENROLL_AFRESH = "the device must check in and enroll afresh"


@dataclass(frozen=True)
class Holding:
    """A device's certificate, issued through its one-time challenge, and the key it holds it with."""

    device: Device
    profile: ScepProfile
    row: IssuedCertificate
    key: rsa.RSAPrivateKey

    @property
    def certificate(self) -> x509.Certificate:
        return self.row.certificate


@pytest.fixture
def holding(client, scep_service, device, assign_to_users, rsa2048_key) -> Holding:
    """The device enrolled with its challenge for a user profile (revocation on removal off, so that its
    certificate stays valid when the profile is unassigned: the renewal is the only guard then)."""
    profile = assign_to_users(revoke_on_removal=False)
    delivery = delivery_for(device, profile)
    assert delivery.rendered is not None, delivery.problem
    csr = build_csr(
        rsa2048_key, delivery.rendered.subject, delivery.rendered.sans, challenge=delivery.challenge
    )
    reply = scep_enroll(client, scep_service, rsa2048_key, csr).reply
    assert reply.status is scep.PkiStatus.SUCCESS, reply.fail_info_text
    assert reply.certificate is not None
    row = IssuedCertificate.objects.get(
        fingerprint_sha256=reply.certificate.fingerprint(hashes.SHA256()).hex().upper()
    )
    assert DeviceCertificate.objects.filter(certificate=row, device=device, profile=profile).exists()
    ConnectorEvent.objects.all().delete()
    return Holding(device=device, profile=profile, row=row, key=rsa2048_key)


@dataclass(frozen=True)
class Renewal:
    transaction_id: str
    reply: scep.CertRepResult
    new_key: rsa.RSAPrivateKey


def renew(client: Any, service: ScepService, holding: Holding, new_key: rsa.RSAPrivateKey) -> Renewal:
    """A RenewalReq as a device sends it: a CSR for a new key with the certificate's subject and SANs, no
    challenge, signed by the certificate it holds."""
    current = holding.certificate
    sans = current.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    csr = build_csr(new_key, current.subject, list(sans))
    ra_certificate = service.registration_authority.certificate
    transaction_id = scep.transaction_id_for(new_key.public_key())
    nonce = os.urandom(16)
    der = scep.build_pki_message(
        message_type=scep.MessageType.RENEWAL_REQ,
        transaction_id=transaction_id,
        sender_nonce=nonce,
        message_data=csr.public_bytes(serialization.Encoding.DER),
        recipient_certificate=ra_certificate,
        signer_certificate=current,
        signer_key=holding.key,
        cipher=scep.ContentCipher.AES128_CBC,
        digest=scep.DigestAlgorithm.SHA256,
    )
    response = client.post(
        f"/scep/{service.slug}?operation=PKIOperation", data=der, content_type=scep.CONTENT_TYPE_PKI_MESSAGE
    )
    assert response.status_code == 200, response.content
    reply = scep.parse_cert_rep(
        response.content,
        signer_key=holding.key,
        signer_certificate=current,
        expected_recipient_nonce=nonce,
        ra_certificate=ra_certificate,
        expected_transaction_id=transaction_id,
    )
    return Renewal(transaction_id=transaction_id, reply=reply, new_key=new_key)


def assert_renewal_refused(renewal: Renewal, holding: Holding, user: DirectoryUser, text: str) -> None:
    """FAILURE badRequest with ``text``; nothing issued; a FAILURE transaction; 4005 names device, user."""
    reply = renewal.reply
    assert reply.status is scep.PkiStatus.FAILURE, reply.status
    assert reply.fail_info is scep.FailInfo.BAD_REQUEST
    assert reply.fail_info_text == f"renewal refused: {text}; {ENROLL_AFRESH}"
    assert reply.certificates == ()
    assert not IssuedCertificate.objects.filter(public_key_sha256=spki_sha256(renewal.new_key.public_key()))
    transaction = ScepTransaction.objects.get(transaction_id=renewal.transaction_id)
    assert (transaction.message_type, transaction.status, transaction.certificate) == (
        scep.MessageType.RENEWAL_REQ,
        TransactionStatus.FAILURE,
        None,
    )
    event = ConnectorEvent.objects.get(
        event_id=EventId.SCEP_VERIFY_FAILURE, transaction_id=renewal.transaction_id
    )
    assert (event.level, event.fail_info, event.message) == (
        EventLevel.WARNING,
        int(scep.FailInfo.BAD_REQUEST),
        reply.fail_info_text,
    )
    assert (event.device_id, event.device_external_id) == (holding.device.pk, holding.device.external_id)
    assert (event.user_id, event.user_principal_name) == (user.pk, user.user_principal_name)


def test_a_renewal_that_still_holds_is_issued_and_names_the_device(
    client, scep_service, holding, user, other_rsa2048_key
):
    renewal = renew(client, scep_service, holding, other_rsa2048_key)

    assert renewal.reply.status is scep.PkiStatus.SUCCESS, renewal.reply.fail_info_text
    renewed = renewal.reply.certificate
    assert renewed is not None
    assert renewed.public_key() == other_rsa2048_key.public_key()
    assert renewed.subject == holding.certificate.subject
    transaction = ScepTransaction.objects.get(transaction_id=renewal.transaction_id)
    assert (transaction.authorization, transaction.renewed_certificate) == (
        Authorization.RENEWAL,
        holding.row,
    )
    binding = DeviceCertificate.objects.get(certificate=transaction.certificate)
    assert (binding.device, binding.profile) == (holding.device, holding.profile)
    state = DeviceCertificateState.objects.get(device=holding.device, profile=holding.profile)
    assert (state.state, state.certificate) == (CertificateState.ISSUED, transaction.certificate)
    sent = ConnectorEvent.objects.get(
        event_id=EventId.CRP_NOTIFY_SUCCESS, transaction_id=renewal.transaction_id
    )
    assert (sent.device_id, sent.user_id) == (holding.device.pk, user.pk)
    assert not ConnectorEvent.objects.filter(event_id=EventId.SCEP_VERIFY_FAILURE).exists()


def test_a_renewal_after_the_user_was_disabled_is_refused(
    client, scep_service, holding, user, other_rsa2048_key
):
    user_update(user=user, data={"enabled": False})

    renewal = renew(client, scep_service, holding, other_rsa2048_key)

    assert_renewal_refused(renewal, holding, user, "user jdoe@corp.example.com is disabled")


def test_a_renewal_after_the_device_was_retired_is_refused_while_its_revocation_waits(
    client, scep_service, holding, user, other_rsa2048_key, monkeypatch
):
    """The retire requests the revocation; with the CA worker or the broker down it stays queued, and the
    certificate is still valid at the CA: the renewal must not be what saves the device."""
    monkeypatch.setattr(revocation_requests, "revocation_request_dispatch", lambda request: None)
    device_retire(device=holding.device)
    holding.row.refresh_from_db()
    assert holding.row.revoked_at is None

    renewal = renew(client, scep_service, holding, other_rsa2048_key)

    assert Device.objects.get(pk=holding.device.pk).state == DeviceState.RETIRED
    assert_renewal_refused(renewal, holding, user, "the device is retired")


def test_a_renewal_after_the_profile_was_unassigned_is_refused(
    client, scep_service, holding, user, other_rsa2048_key
):
    for assignment in ProfileAssignment.objects.filter(scep_profile=holding.profile):
        assignment_delete(assignment=assignment)
    holding.row.refresh_from_db()
    assert holding.row.revoked_at is None  # revoke on removal is off for this profile

    renewal = renew(client, scep_service, holding, other_rsa2048_key)

    assert_renewal_refused(renewal, holding, user, "the SCEP profile is no longer assigned to this device")


def test_a_renewal_after_the_user_was_renamed_is_refused(
    client, scep_service, holding, user, other_rsa2048_key
):
    """The subject is CN={{UserName}}: the device still asks for the old name, which is no longer its."""
    user_update(user=user, data={"user_name": "jsmith"})

    renewal = renew(client, scep_service, holding, other_rsa2048_key)

    assert_renewal_refused(
        renewal,
        holding,
        user,
        "the certificate's subject (O=certportal tests,CN=jdoe) is no longer what the profile gives this "
        "device (O=certportal tests,CN=jsmith)",
    )


def test_a_renewal_after_the_upn_changed_is_refused(client, scep_service, holding, user, other_rsa2048_key):
    user_update(user=user, data={"user_principal_name": "john.doe@corp.example.com"})

    renewal = renew(client, scep_service, holding, other_rsa2048_key)

    user.refresh_from_db()
    assert_renewal_refused(
        renewal,
        holding,
        user,
        "the certificate's subject alternative names are no longer what the profile gives this device",
    )


def test_a_renewal_after_the_profile_changed_is_refused(
    client, scep_service, holding, user, other_rsa2048_key
):
    """A change that alters nothing the certificate says keeps it valid, and still means: enroll afresh."""
    scep_profile_update(profile=holding.profile, description="now with a description")
    holding.row.refresh_from_db()
    assert holding.row.revoked_at is None

    renewal = renew(client, scep_service, holding, other_rsa2048_key)

    assert_renewal_refused(
        renewal,
        holding,
        user,
        "the SCEP profile changed since the certificate was enrolled (version 1, now 2)",
    )


def test_a_renewed_certificate_is_checked_against_the_first_challenge(
    client, scep_service, holding, user, other_rsa2048_key
):
    """The second renewal is signed by the renewed certificate: its origin is still the first challenge."""
    first = renew(client, scep_service, holding, other_rsa2048_key)
    assert first.reply.status is scep.PkiStatus.SUCCESS, first.reply.fail_info_text
    renewed = Holding(
        device=holding.device,
        profile=holding.profile,
        row=IssuedCertificate.objects.get(scep_transactions__transaction_id=first.transaction_id),
        key=other_rsa2048_key,
    )
    user_update(user=user, data={"enabled": False})

    second = renew(
        client, scep_service, renewed, rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )

    assert_renewal_refused(second, renewed, user, "user jdoe@corp.example.com is disabled")
