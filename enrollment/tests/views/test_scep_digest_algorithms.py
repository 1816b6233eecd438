"""A PKCSReq whose SignedData.digestAlgorithms was altered is refused, not issued.

The set is outside the signature: before it was checked, a flipped byte there was read past and a
request with a valid challenge was issued. Now it is CertRep FAILURE badMessageCheck (the set decodes
but does not list the signer's digest) or HTTP 400 (it does not decode), recorded, and nothing is issued.
"""

from __future__ import annotations

import pytest

from asn1crypto import algos

from ca.models import CertificateRequest, IssuedCertificate
from enrollment import scep
from enrollment.models import ScepTransaction
from enrollment.tests.fixtures import Device, assert_refused
from eventlog.choices import EventId
from eventlog.models import ConnectorEvent


def _digest_set_offset(der: bytes) -> int:
    """Where SignedData.digestAlgorithms (one SHA-256 AlgorithmIdentifier) starts: before the SignerInfo's."""
    identifier = algos.DigestAlgorithm({"algorithm": scep.DigestAlgorithm.SHA256.oid}).dump()
    start = der.index(bytes([0x31, len(identifier)]) + identifier)
    assert der.index(identifier) == start + 2
    return start


@pytest.mark.django_db(transaction=True)
def test_sha256_flipped_to_sha512_in_digest_algorithms_is_refused_and_nothing_issued(
    scep_client, device_keys
):
    device = Device.create(device_keys[0])
    sent = scep_client.pkcs_req(device)  # a valid static challenge: unaltered, this is issued
    der = bytearray(sent.der)
    last_arc = _digest_set_offset(sent.der) + 2 + 12  # SET, SEQUENCE and OID headers, 8 arcs in
    assert der[last_arc] == 0x01
    der[last_arc] ^= 0x02  # 2.16.840.1.101.3.4.2.1 (SHA-256) -> ...2.3 (SHA-512)

    result = scep_client.reply(sent, scep_client.send(bytes(der)))

    assert_refused(result, scep.FailInfo.BAD_MESSAGE_CHECK, requests=0)
    assert result.fail_info_text == (
        "the signer's digest algorithm SHA-256 is not among SignedData.digestAlgorithms"
    )
    assert ScepTransaction.objects.count() == 0
    assert IssuedCertificate.objects.count() == 0

    # The control: the same message, untouched, is issued.
    assert scep_client.exchange(sent).status is scep.PkiStatus.SUCCESS


def test_digest_algorithms_that_do_not_decode_are_400_and_recorded(db, scep_client, device_keys):
    device = Device.create(device_keys[0])
    der = bytearray(scep_client.pkcs_req(device).der)
    der[_digest_set_offset(bytes(der)) + 2] = 0x04  # the AlgorithmIdentifier's SEQUENCE tag -> OCTET STRING

    response = scep_client.send(bytes(der))

    assert response.status_code == 400
    assert response.content.decode("utf-8").startswith("malformed SCEP message: ")
    assert ConnectorEvent.objects.filter(event_id=EventId.SCEP_MALFORMED_REQUEST).count() == 1
    assert CertificateRequest.objects.count() == 0
    assert IssuedCertificate.objects.count() == 0
