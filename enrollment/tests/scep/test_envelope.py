from collections.abc import Callable

import pytest

from asn1crypto import algos, cms, core
from cryptography import x509

from enrollment.scep import (
    AlgorithmPolicy,
    ContentCipher,
    FailInfo,
    ScepFailure,
    build_degenerate,
    decrypt_envelope,
    encrypt_envelope,
    schema,
)
from enrollment.scep.envelope import DECRYPTION_FAILED, NOT_FOR_US

from .pki import rsa_key

PLAINTEXT = b"a PKCS#10 request would be here" * 3


def mutate(der: bytes, change: Callable[[cms.EnvelopedData], None]) -> bytes:
    content_info = cms.ContentInfo.load(der)
    change(content_info["content"])
    return bytes(content_info.dump(force=True))


def decrypt(der, ra, policy=None):
    return decrypt_envelope(
        der,
        recipient_key=ra.key,
        recipient_certificate=ra.certificate,
        policy=policy or AlgorithmPolicy(allow_legacy=True),
    )


@pytest.mark.parametrize("cipher", list(ContentCipher))
def test_round_trip_with_every_cipher(ra, cipher):
    der = encrypt_envelope(PLAINTEXT, recipient_certificate=ra.certificate, cipher=cipher)
    assert decrypt(der, ra) == (PLAINTEXT, cipher)


@pytest.mark.parametrize("length", [0, 1, 15, 16, 17])
def test_round_trip_at_block_boundaries(ra, length):
    plaintext = bytes(range(length))
    der = encrypt_envelope(plaintext, recipient_certificate=ra.certificate, cipher=ContentCipher.AES256_CBC)
    assert decrypt(der, ra)[0] == plaintext


def test_each_envelope_has_a_fresh_key_and_iv(ra):
    first = encrypt_envelope(PLAINTEXT, recipient_certificate=ra.certificate, cipher=ContentCipher.AES128_CBC)
    second = encrypt_envelope(
        PLAINTEXT, recipient_certificate=ra.certificate, cipher=ContentCipher.AES128_CBC
    )
    assert first != second


def test_envelope_is_version_0_with_issuer_and_serial(ra):
    der = encrypt_envelope(PLAINTEXT, recipient_certificate=ra.certificate, cipher=ContentCipher.AES128_CBC)
    enveloped = cms.ContentInfo.load(der)["content"]
    assert enveloped["version"].native == "v0"
    recipient = enveloped["recipient_infos"][0].chosen
    assert recipient["rid"].name == "issuer_and_serial_number"
    assert recipient["rid"].chosen["serial_number"].native == ra.certificate.serial_number
    assert recipient["key_encryption_algorithm"]["algorithm"].dotted == "1.2.840.113549.1.1.1"


@pytest.mark.parametrize("cipher", [ContentCipher.DES_CBC, ContentCipher.DES3_CBC])
def test_legacy_cipher_refused_before_decrypting(ra, foreign_ra, cipher):
    der = encrypt_envelope(PLAINTEXT, recipient_certificate=ra.certificate, cipher=cipher)
    with pytest.raises(ScepFailure) as failure:
        # A wrong private key would fail decryption; badAlg shows the policy ran first.
        decrypt_envelope(
            der, recipient_key=foreign_ra.key, recipient_certificate=ra.certificate, policy=AlgorithmPolicy()
        )
    assert failure.value.fail_info is FailInfo.BAD_ALG
    assert "legacy algorithms are disabled for this CA" in failure.value.text


def test_envelope_for_another_certificate_is_bad_message_check(ra, foreign_ra):
    der = encrypt_envelope(
        PLAINTEXT, recipient_certificate=foreign_ra.certificate, cipher=ContentCipher.AES128_CBC
    )
    with pytest.raises(ScepFailure) as failure:
        decrypt(der, ra)
    assert failure.value.fail_info is FailInfo.BAD_MESSAGE_CHECK
    assert failure.value.text == NOT_FOR_US


def test_recipient_found_among_several(ra, foreign_ra):
    ours = encrypt_envelope(PLAINTEXT, recipient_certificate=ra.certificate, cipher=ContentCipher.AES128_CBC)
    theirs = cms.ContentInfo.load(
        encrypt_envelope(
            PLAINTEXT, recipient_certificate=foreign_ra.certificate, cipher=ContentCipher.AES128_CBC
        )
    )["content"]["recipient_infos"][0]

    def prepend_foreign(enveloped):
        enveloped["recipient_infos"] = [theirs.copy(), enveloped["recipient_infos"][0].copy()]

    assert decrypt(mutate(ours, prepend_foreign), ra)[0] == PLAINTEXT


def test_recipient_matched_by_subject_key_identifier(ra):
    der = encrypt_envelope(PLAINTEXT, recipient_certificate=ra.certificate, cipher=ContentCipher.AES128_CBC)
    ski = ra.certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest

    def use_ski(enveloped):
        info = enveloped["recipient_infos"][0].chosen
        info["version"] = "v2"
        info["rid"] = cms.RecipientIdentifier(name="subject_key_identifier", value=ski)

    assert decrypt(mutate(der, use_ski), ra)[0] == PLAINTEXT


def corrupt_ciphertext(enveloped):
    content = enveloped["encrypted_content_info"]
    ciphertext = bytearray(content["encrypted_content"].native)
    ciphertext[-1] ^= 0x01
    content["encrypted_content"] = bytes(ciphertext)


def truncate_ciphertext(enveloped):
    content = enveloped["encrypted_content_info"]
    content["encrypted_content"] = content["encrypted_content"].native[:-3]


def drop_ciphertext(enveloped):
    content = enveloped["encrypted_content_info"]
    content["encrypted_content"] = b""


def corrupt_encrypted_key(enveloped):
    info = enveloped["recipient_infos"][0].chosen
    key = bytearray(info["encrypted_key"].native)
    key[10] ^= 0xFF
    info["encrypted_key"] = bytes(key)


def short_iv(enveloped):
    algorithm = enveloped["encrypted_content_info"]["content_encryption_algorithm"]
    algorithm["parameters"] = core.OctetString(b"\x00" * 8)


def wrong_cipher_key_size(enveloped):
    # AES-256 announced, but the wrapped key is 16 bytes (it was made for AES-128).
    enveloped["encrypted_content_info"]["content_encryption_algorithm"]["algorithm"] = (
        "2.16.840.1.101.3.4.1.42"
    )


@pytest.mark.parametrize(
    "damage",
    [
        corrupt_ciphertext,
        truncate_ciphertext,
        drop_ciphertext,
        corrupt_encrypted_key,
        short_iv,
        wrong_cipher_key_size,
    ],
)
def test_every_decryption_failure_looks_the_same(ra, damage):
    der = encrypt_envelope(
        PLAINTEXT * 4, recipient_certificate=ra.certificate, cipher=ContentCipher.AES128_CBC
    )
    with pytest.raises(ScepFailure) as failure:
        decrypt(mutate(der, damage), ra)
    assert failure.value.fail_info is FailInfo.BAD_MESSAGE_CHECK
    assert failure.value.text == DECRYPTION_FAILED
    assert failure.value.__cause__ is None


def test_wrong_private_key_is_the_same_uniform_failure(ra):
    der = encrypt_envelope(PLAINTEXT, recipient_certificate=ra.certificate, cipher=ContentCipher.AES128_CBC)
    with pytest.raises(ScepFailure) as failure:
        decrypt_envelope(
            der, recipient_key=rsa_key(), recipient_certificate=ra.certificate, policy=AlgorithmPolicy()
        )
    assert failure.value.fail_info is FailInfo.BAD_MESSAGE_CHECK
    assert failure.value.text == DECRYPTION_FAILED


def test_rsa_oaep_key_transport_is_bad_alg(ra):
    der = encrypt_envelope(PLAINTEXT, recipient_certificate=ra.certificate, cipher=ContentCipher.AES128_CBC)

    def use_oaep(enveloped):
        info = enveloped["recipient_infos"][0].chosen
        info["key_encryption_algorithm"] = {"algorithm": "1.2.840.113549.1.1.7"}

    with pytest.raises(ScepFailure) as failure:
        decrypt(mutate(der, use_oaep), ra)
    assert failure.value.fail_info is FailInfo.BAD_ALG
    assert "RSA-OAEP" in failure.value.text


def test_unknown_key_transport_is_bad_alg(ra):
    der = encrypt_envelope(PLAINTEXT, recipient_certificate=ra.certificate, cipher=ContentCipher.AES128_CBC)

    def use_rsa_kem(enveloped):
        enveloped["recipient_infos"][0].chosen["key_encryption_algorithm"] = {
            "algorithm": "1.2.840.113549.1.9.16.3.14"
        }

    with pytest.raises(ScepFailure) as failure:
        decrypt(mutate(der, use_rsa_kem), ra)
    assert failure.value.fail_info is FailInfo.BAD_ALG
    assert "1.2.840.113549.1.9.16.3.14" in failure.value.text


@pytest.mark.parametrize(
    "algorithm",
    [
        {
            "algorithm": "1.2.840.113549.3.2",
            "parameters": algos.Rc2Params({"rc2_parameter_version": 58, "iv": bytes(8)}),
        },
        {"algorithm": "1.3.6.1.4.1.99999.1", "parameters": core.OctetString(bytes(16))},
    ],
)
def test_unknown_content_cipher_is_bad_alg(ra, algorithm):
    der = encrypt_envelope(PLAINTEXT, recipient_certificate=ra.certificate, cipher=ContentCipher.AES128_CBC)

    def replace_cipher(enveloped):
        enveloped["encrypted_content_info"]["content_encryption_algorithm"] = algorithm

    with pytest.raises(ScepFailure) as failure:
        decrypt(mutate(der, replace_cipher), ra)
    assert failure.value.fail_info is FailInfo.BAD_ALG
    assert algorithm["algorithm"] in failure.value.text


@pytest.mark.parametrize("der", [b"", b"hello", b"\x30\x03\x02\x01\x01"])
def test_garbage_is_bad_request(ra, der):
    with pytest.raises(ScepFailure) as failure:
        decrypt(der, ra)
    assert failure.value.fail_info is FailInfo.BAD_REQUEST


def test_signed_data_instead_of_enveloped_data_is_bad_request(ra):
    with pytest.raises(ScepFailure) as failure:
        decrypt(build_degenerate([ra.certificate]), ra)
    assert failure.value.fail_info is FailInfo.BAD_REQUEST
    assert "envelopedData" in failure.value.text


def test_encrypting_to_a_non_rsa_certificate_is_bad_alg(ec_signer):
    _, certificate = ec_signer
    with pytest.raises(ScepFailure) as failure:
        encrypt_envelope(PLAINTEXT, recipient_certificate=certificate, cipher=ContentCipher.AES128_CBC)
    assert failure.value.fail_info is FailInfo.BAD_ALG


@pytest.mark.parametrize("segments", [1, 3])
def test_constructed_encrypted_content_as_go_pkcs7_sends_it(ra, segments):
    """micromdm's scepclient (Go pkcs7) sends [0] constructed, definite length, holding OCTET STRINGs."""
    der = encrypt_envelope(PLAINTEXT, recipient_certificate=ra.certificate, cipher=ContentCipher.DES3_CBC)
    content_info = schema.ContentInfo.load(der)
    content = content_info["content"]["encrypted_content_info"]
    ciphertext = schema.implicit_octet_string(content["encrypted_content"], 0)
    size = -(-len(ciphertext) // segments)
    chunks = [ciphertext[start : start + size] for start in range(0, len(ciphertext), size)]
    content["encrypted_content"] = schema.OctetStringSegments(chunks, implicit=0)
    constructed = content_info.dump(force=True)
    reloaded = schema.ContentInfo.load(constructed)["content"]["encrypted_content_info"]["encrypted_content"]
    with pytest.raises(ValueError, match="method should have been primitive"):
        reloaded.parse(core.OctetString, spec_params={"implicit": 0})  # what plain asn1crypto does
    assert decrypt(constructed, ra) == (PLAINTEXT, ContentCipher.DES3_CBC)
