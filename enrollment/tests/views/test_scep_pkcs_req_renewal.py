"""A PKCSReq signed by a certificate this CA issued is a renewal, decided by the renewal rules.

certmonger renews so (``getcert rekey``: a PKCSReq with a new key, signed by its current certificate, the
original challenge copied in), as do some routers; it used to be refused with badRequest because the CSR's
key is not the signer's (RFC 8894 §2.3 asks for that only of a self-signed signer). The real certmonger
round trip is enrollment/tests/clients/test_certmonger.py.
"""

from __future__ import annotations

import datetime as dt

import pytest

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from ca.models import IssuedCertificate
from ca.services.revocation import certificate_revoke
from enrollment import scep
from enrollment.choices import Authorization, TransactionStatus
from enrollment.models import ScepTransaction
from enrollment.tests.fixtures import Device, assert_refused, issued_row, name

on_commit = pytest.mark.django_db(transaction=True)


def _pkcs_req_signed_by(scep_client, current: IssuedCertificate, key, csr: x509.CertificateSigningRequest):
    return scep_client.message(
        scep.MessageType.PKCS_REQ, csr, signer=scep.ScepIdentity(current.certificate, key)
    )


@on_commit
def test_a_pkcs_req_with_a_new_key_signed_by_the_issued_certificate_renews_it(scep_client, device_keys):
    device = Device.create(device_keys[0])
    enrolment = scep_client.enroll(device)
    current = issued_row(enrolment)
    new_key = device_keys[1]
    csr = Device.create(new_key).csr()  # with the challenge, as certmonger copies it

    result = scep_client.exchange(_pkcs_req_signed_by(scep_client, current, device.key, csr))

    assert result.status is scep.PkiStatus.SUCCESS, result.fail_info_text
    assert result.certificate.public_key() == new_key.public_key()
    assert result.certificate.subject == current.certificate.subject
    transaction = ScepTransaction.objects.get(renewed_certificate=current)
    assert transaction.message_type == scep.MessageType.PKCS_REQ
    assert transaction.authorization == Authorization.RENEWAL
    assert transaction.status == TransactionStatus.SUCCESS
    assert transaction.challenge is None  # the renewal rules decided, not the challenge


def test_a_pkcs_req_signed_by_a_revoked_issued_certificate_is_refused(enrol_now, scep_client, device_keys):
    device = Device.create(device_keys[0])
    current = enrol_now(device)
    certificate_revoke(certificate_id=current.pk, reason="key_compromise")

    result = scep_client.exchange(
        _pkcs_req_signed_by(scep_client, current, device.key, Device.create(device_keys[1]).csr())
    )

    assert_refused(result, scep.FailInfo.BAD_REQUEST, issued=1)
    assert "is revoked" in result.fail_info_text


def test_a_pkcs_req_for_another_subject_signed_by_an_issued_certificate_is_refused(
    enrol_now, scep_client, device_keys
):
    """The challenge it carries does not widen a renewal: the subject must be the certificate's."""
    device = Device.create(device_keys[0])
    current = enrol_now(device)
    other = Device.create(device_keys[1], "someone-else")

    result = scep_client.exchange(_pkcs_req_signed_by(scep_client, current, device.key, other.csr()))

    assert_refused(result, scep.FailInfo.BAD_REQUEST, issued=1)
    assert "different subject" in result.fail_info_text


def test_a_pkcs_req_signed_by_a_foreign_certificate_with_another_key_is_still_refused(
    scep_client, device_keys
):
    """Not this CA's certificate: the PKCSReq rule stands (the CSR's key must be the signer's)."""
    device = Device.create(device_keys[0])
    now = dt.datetime.now(tz=dt.UTC)
    foreign = (
        x509.CertificateBuilder()
        .subject_name(device.subject)
        .issuer_name(name("Foreign CA"))
        .public_key(device.key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=30))
        .sign(device_keys[3], hashes.SHA256())
    )
    csr = Device.create(device_keys[1], device.subject.rfc4514_string().removeprefix("CN=")).csr()
    sent = scep_client.message(scep.MessageType.PKCS_REQ, csr, signer=scep.ScepIdentity(foreign, device.key))

    result = scep_client.exchange(sent)

    assert_refused(result, scep.FailInfo.BAD_REQUEST, issued=0)
    assert "not the key that signed the message" in result.fail_info_text
