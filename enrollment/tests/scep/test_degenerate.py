import pytest

from asn1crypto import cms

from enrollment.scep import (
    AlgorithmPolicy,
    ContentCipher,
    DigestAlgorithm,
    FailInfo,
    MalformedMessage,
    ScepFailure,
    build_degenerate,
    build_next_ca_cert,
    encrypt_envelope,
    parse_degenerate,
    parse_next_ca_cert,
)

from .pki import make_ca, make_crl, make_ra
from .tamper import flip_signature


@pytest.fixture(scope="module")
def rollover():
    new_ca = make_ca("certportal test CA 2")
    return [new_ca.certificate, make_ra(new_ca, "certportal test RA 2").certificate]


def test_certificates_keep_their_order(ca, ra, requester):
    for order in ([ra.certificate, ca.certificate], [ca.certificate, ra.certificate, requester.certificate]):
        assert parse_degenerate(build_degenerate(order)) == (order, [])


def test_degenerate_structure(ca, ra):
    signed_data = cms.ContentInfo.load(build_degenerate([ra.certificate, ca.certificate]))["content"]
    assert signed_data["version"].native == "v1"
    assert len(signed_data["digest_algorithms"]) == 0
    assert len(signed_data["signer_infos"]) == 0
    assert signed_data["encap_content_info"]["content_type"].native == "data"
    assert signed_data["encap_content_info"]["content"].native is None


def test_crls_round_trip(ca):
    crl = make_crl(ca, [1, 2, 3])
    assert parse_degenerate(build_degenerate(crls=[crl])) == ([], [crl])


def test_empty_degenerate_round_trip():
    assert parse_degenerate(build_degenerate()) == ([], [])


@pytest.mark.parametrize("der", [b"", b"garbage", b"\x30\x03\x02\x01\x01", b"\x30\x80" * 100])
def test_garbage_is_malformed(der):
    with pytest.raises(MalformedMessage):
        parse_degenerate(der)


def test_enveloped_data_is_not_a_bundle(ra):
    envelope = encrypt_envelope(b"x", recipient_certificate=ra.certificate, cipher=ContentCipher.AES128_CBC)
    with pytest.raises(MalformedMessage, match="not a CMS SignedData"):
        parse_degenerate(envelope)


@pytest.mark.parametrize("digest", [DigestAlgorithm.SHA256, DigestAlgorithm.SHA512])
def test_next_ca_cert_round_trip(ca, ra, rollover, digest):
    der = build_next_ca_cert(
        rollover,
        signer_certificate=ra.certificate,
        signer_key=ra.key,
        digest=digest,
        extra_certificates=[ca.certificate],
    )
    current = [ra.certificate, ca.certificate]
    assert parse_next_ca_cert(der, signer_certificates=current, policy=AlgorithmPolicy()) == rollover


def test_next_ca_cert_signed_by_someone_else_is_refused(ra, foreign_ra, rollover):
    der = build_next_ca_cert(rollover, signer_certificate=foreign_ra.certificate, signer_key=foreign_ra.key)
    with pytest.raises(ScepFailure) as failure:
        parse_next_ca_cert(der, signer_certificates=[ra.certificate], policy=AlgorithmPolicy())
    assert failure.value.fail_info is FailInfo.BAD_MESSAGE_CHECK


def test_tampered_next_ca_cert_is_refused(ra, rollover):
    der = flip_signature(build_next_ca_cert(rollover, signer_certificate=ra.certificate, signer_key=ra.key))
    with pytest.raises(ScepFailure) as failure:
        parse_next_ca_cert(der, signer_certificates=[ra.certificate], policy=AlgorithmPolicy())
    assert failure.value.fail_info is FailInfo.BAD_MESSAGE_CHECK
