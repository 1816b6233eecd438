import pytest

from asn1crypto import cms, core
from asn1crypto import csr as asn1_csr
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.name import _ASN1Type
from cryptography.x509.oid import AttributeOID, NameOID

from enrollment.scep import (
    FailInfo,
    ScepFailure,
    build_csr,
    build_issuer_and_serial,
    build_issuer_and_subject,
    challenge_password,
    check_csr_key_matches_signer,
    parse_csr,
    parse_issuer_and_serial,
    parse_issuer_and_subject,
)

from .pki import name


def csr_with_challenge(key, value: bytes, tag: _ASN1Type) -> x509.CertificateSigningRequest:
    builder = x509.CertificateSigningRequestBuilder().subject_name(name("device"))
    return builder.add_attribute(AttributeOID.CHALLENGE_PASSWORD, value, _tag=tag).sign(key, hashes.SHA256())


def der(csr: x509.CertificateSigningRequest) -> bytes:
    return csr.public_bytes(serialization.Encoding.DER)


def test_parse_csr(requester):
    csr = build_csr(requester.key, name("device"), challenge_password="s3cret")
    assert parse_csr(der(csr)) == csr


@pytest.mark.parametrize("plaintext", [b"", b"not a csr", b"\x30\x03\x02\x01\x00"])
def test_non_csr_is_bad_request(plaintext):
    with pytest.raises(ScepFailure) as failure:
        parse_csr(plaintext)
    assert failure.value.fail_info is FailInfo.BAD_REQUEST


def test_certificate_instead_of_csr_is_bad_request(requester):
    with pytest.raises(ScepFailure) as failure:
        parse_csr(requester.certificate.public_bytes(serialization.Encoding.DER))
    assert failure.value.fail_info is FailInfo.BAD_REQUEST


def test_csr_with_broken_self_signature_is_bad_message_check(requester):
    request = asn1_csr.CertificationRequest.load(der(build_csr(requester.key, name("device"))))
    signature = bytearray(request["signature"].native)
    signature[-1] ^= 0x01
    request["signature"] = bytes(signature)
    with pytest.raises(ScepFailure) as failure:
        parse_csr(request.dump(force=True))
    assert failure.value.fail_info is FailInfo.BAD_MESSAGE_CHECK


def test_csr_with_unknown_signature_algorithm_is_bad_alg(requester):
    request = asn1_csr.CertificationRequest.load(der(build_csr(requester.key, name("device"))))
    request["signature_algorithm"] = {"algorithm": "1.3.6.1.4.1.99999.7"}
    with pytest.raises(ScepFailure) as failure:
        parse_csr(request.dump(force=True))
    assert failure.value.fail_info is FailInfo.BAD_ALG


@pytest.mark.parametrize(
    ("text", "codec", "tag"),
    [
        ("s3cret", "ascii", _ASN1Type.PrintableString),
        ("sëcret-✓", "utf-8", _ASN1Type.UTF8String),
        ("s3cret", "ascii", _ASN1Type.IA5String),
        ("sëcret-✓", "utf-16-be", _ASN1Type.BMPString),
        ("s3cret", "latin-1", _ASN1Type.T61String),
        ("sëcret-✓", "utf-32-be", _ASN1Type.UniversalString),
    ],
    ids=["printable", "utf8", "ia5", "bmp", "t61", "universal"],
)
def test_challenge_password_encodings(requester, text, codec, tag):
    assert challenge_password(csr_with_challenge(requester.key, text.encode(codec), tag)) == text


def test_challenge_password_absent_is_none(requester):
    assert challenge_password(build_csr(requester.key, name("device"))) is None


def test_challenge_password_of_255_characters_is_accepted(requester):
    assert challenge_password(build_csr(requester.key, name("d"), challenge_password="p" * 255)) == "p" * 255


def test_oversized_challenge_password_is_bad_request(requester):
    with pytest.raises(ScepFailure) as failure:
        challenge_password(build_csr(requester.key, name("d"), challenge_password="p" * 1024))
    assert failure.value.fail_info is FailInfo.BAD_REQUEST
    assert "255" in failure.value.text


@pytest.mark.parametrize(
    ("encoded", "tag"),
    [
        (b"\xff\xfe\xfd", _ASN1Type.UTF8String),  # not UTF-8
        (b"odd", _ASN1Type.BMPString),  # not UTF-16
        (b"s3cret", _ASN1Type.OctetString),  # not a character string
    ],
    ids=["bad-utf8", "odd-bmp", "octet-string"],
)
def test_undecodable_challenge_password_is_bad_request(requester, encoded, tag):
    with pytest.raises(ScepFailure) as failure:
        challenge_password(csr_with_challenge(requester.key, encoded, tag))
    assert failure.value.fail_info is FailInfo.BAD_REQUEST


def test_repeated_challenge_password_is_bad_request(requester):
    request = asn1_csr.CertificationRequest.load(
        der(build_csr(requester.key, name("d"), challenge_password="a"))
    )
    attributes = request["certification_request_info"]["attributes"]
    attributes.append(attributes[0].copy())
    csr = x509.load_der_x509_csr(request.dump(force=True))
    with pytest.raises(ScepFailure) as failure:
        challenge_password(csr)
    assert failure.value.fail_info is FailInfo.BAD_REQUEST


def test_csr_key_must_match_the_self_signed_signer(requester, ra):
    csr = build_csr(requester.key, name("anything"))
    check_csr_key_matches_signer(csr, requester.certificate)
    with pytest.raises(ScepFailure) as failure:
        check_csr_key_matches_signer(csr, ra.certificate)
    assert failure.value.fail_info is FailInfo.BAD_REQUEST


def test_issuer_and_subject_round_trip_keeps_string_types(ca):
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "NZ", _type=_ASN1Type.PrintableString),
            x509.NameAttribute(NameOID.COMMON_NAME, "dévice", _type=_ASN1Type.UTF8String),
            x509.NameAttribute(NameOID.EMAIL_ADDRESS, "d@example.org", _type=_ASN1Type.IA5String),
        ]
    )
    encoded = build_issuer_and_subject(ca.certificate.subject, subject)
    issuer, parsed = parse_issuer_and_subject(encoded)
    assert issuer == ca.certificate.subject
    assert parsed == subject
    assert parsed.public_bytes() == subject.public_bytes()


def test_issuer_and_serial_round_trip(ca):
    serial = 2**159 - 1
    assert parse_issuer_and_serial(build_issuer_and_serial(ca.certificate.subject, serial)) == (
        ca.certificate.subject,
        serial,
    )


@pytest.mark.parametrize(
    "plaintext",
    [
        b"",
        b"\x30\x00",
        b"garbage",
        core.Sequence.load(b"\x30\x03\x02\x01\x05").dump(),
        # a name whose value is an INTEGER
        cms.IssuerAndSerialNumber.load(
            b"\x30\x12\x30\x0d\x31\x0b\x30\x09\x06\x03\x55\x04\x03\x02\x02\x01\x00\x02\x01\x05"
        ).dump(),
    ],
)
def test_malformed_issuer_and_serial_is_bad_request(plaintext):
    with pytest.raises(ScepFailure) as failure:
        parse_issuer_and_serial(plaintext)
    assert failure.value.fail_info is FailInfo.BAD_REQUEST


def test_issuer_and_serial_with_trailing_bytes_is_bad_request(ca):
    with pytest.raises(ScepFailure):
        parse_issuer_and_serial(build_issuer_and_serial(ca.certificate.subject, 5) + b"\x00")


@pytest.mark.parametrize(
    "plaintext",
    [b"", b"\x30\x00", b"\x30\x02\x30\x00", b"\x01\x02\x03"],
)
def test_malformed_issuer_and_subject_is_bad_request(plaintext):
    with pytest.raises(ScepFailure) as failure:
        parse_issuer_and_subject(plaintext)
    assert failure.value.fail_info is FailInfo.BAD_REQUEST


def test_issuer_and_subject_with_invalid_country_is_bad_request(ca):
    bad = b"\x30\x0e\x31\x0c\x30\x0a\x06\x03\x55\x04\x06\x13\x03\x55\x53\x41"  # C=USA
    plaintext = b"\x30" + bytes([len(bad) * 2]) + bad + bad
    with pytest.raises(ScepFailure) as failure:
        parse_issuer_and_subject(plaintext)
    assert failure.value.fail_info is FailInfo.BAD_REQUEST
