import pytest

from enrollment.scep import (
    AlgorithmPolicy,
    ContentCipher,
    DigestAlgorithm,
    FailInfo,
    ScepFailure,
    capabilities,
    choose_algorithms,
)

MODERN_CIPHERS = [ContentCipher.AES128_CBC, ContentCipher.AES192_CBC, ContentCipher.AES256_CBC]
LEGACY_CIPHERS = [ContentCipher.DES_CBC, ContentCipher.DES3_CBC]
MODERN_DIGESTS = [DigestAlgorithm.SHA256, DigestAlgorithm.SHA384, DigestAlgorithm.SHA512]


@pytest.mark.parametrize("cipher", MODERN_CIPHERS)
def test_strict_policy_accepts_aes(strict, cipher):
    assert strict.check_cipher(cipher) is cipher
    assert strict.check_cipher(cipher.oid) is cipher


@pytest.mark.parametrize("cipher", LEGACY_CIPHERS)
def test_strict_policy_refuses_des_with_readable_text(strict, cipher):
    with pytest.raises(ScepFailure) as failure:
        strict.check_cipher(cipher.oid)
    assert failure.value.fail_info is FailInfo.BAD_ALG
    assert cipher.display_name in failure.value.text
    assert "legacy algorithms are disabled for this CA" in failure.value.text


@pytest.mark.parametrize("cipher", LEGACY_CIPHERS + MODERN_CIPHERS)
def test_legacy_policy_accepts_every_cipher(legacy, cipher):
    assert legacy.check_cipher(cipher) is cipher


@pytest.mark.parametrize("digest", MODERN_DIGESTS)
def test_strict_policy_accepts_sha2(strict, digest):
    assert strict.check_digest(digest.oid) is digest


def test_strict_policy_refuses_sha1(strict):
    with pytest.raises(ScepFailure) as failure:
        strict.check_digest(DigestAlgorithm.SHA1)
    assert failure.value.fail_info is FailInfo.BAD_ALG
    assert failure.value.text.startswith("digest algorithm SHA-1 (1.3.14.3.2.26) is a legacy algorithm")


def test_legacy_policy_accepts_sha1(legacy):
    assert legacy.check_digest(DigestAlgorithm.SHA1.oid) is DigestAlgorithm.SHA1


@pytest.mark.parametrize("policy", [AlgorithmPolicy(), AlgorithmPolicy(allow_legacy=True)])
def test_md5_is_never_accepted(policy):
    with pytest.raises(ScepFailure) as failure:
        policy.check_digest("1.2.840.113549.2.5")
    assert failure.value.fail_info is FailInfo.BAD_ALG
    assert "MD5" in failure.value.text
    assert not policy.allows_digest(DigestAlgorithm.MD5)


@pytest.mark.parametrize("policy", [AlgorithmPolicy(), AlgorithmPolicy(allow_legacy=True)])
def test_unknown_oids_are_bad_alg(policy):
    with pytest.raises(ScepFailure) as cipher_failure:
        policy.check_cipher("1.2.840.113549.3.2")  # RC2-CBC
    with pytest.raises(ScepFailure) as digest_failure:
        policy.check_digest("2.16.840.1.101.3.4.2.4")  # SHA-224
    assert cipher_failure.value.fail_info is FailInfo.BAD_ALG
    assert "1.2.840.113549.3.2" in cipher_failure.value.text
    assert digest_failure.value.fail_info is FailInfo.BAD_ALG


def test_single_des_is_triple_des_with_a_repeated_key():
    key = bytes(range(8))
    algorithm = ContentCipher.DES_CBC.algorithm(key)
    assert algorithm.key == key * 3
    with pytest.raises(ValueError, match="8-byte key"):
        ContentCipher.DES_CBC.algorithm(bytes(16))


def test_capabilities_without_legacy(strict):
    assert capabilities(strict) == [
        "POSTPKIOperation",
        "SHA-256",
        "SHA-384",
        "SHA-512",
        "AES",
        "SCEPStandard",
        "Renewal",
    ]


def test_capabilities_with_legacy_and_rollover(legacy):
    caps = capabilities(legacy, renewal=False, next_ca_cert=True)
    assert caps == [
        "POSTPKIOperation",
        "SHA-256",
        "SHA-384",
        "SHA-512",
        "AES",
        "SCEPStandard",
        "GetNextCACert",
        "SHA-1",
        "DES3",
    ]


def test_client_chooses_aes_and_sha256_from_a_standard_server(strict):
    assert choose_algorithms(["SCEPStandard"], strict) == (ContentCipher.AES128_CBC, DigestAlgorithm.SHA256)
    assert choose_algorithms(["aes", "sha-512"], strict) == (ContentCipher.AES128_CBC, DigestAlgorithm.SHA512)
    assert choose_algorithms(["AES", "SHA-384"], strict) == (ContentCipher.AES128_CBC, DigestAlgorithm.SHA384)


@pytest.mark.parametrize("allow_legacy", [False, True])
def test_capabilities_name_exactly_the_digests_the_policy_accepts(allow_legacy):
    """strongSwan 5.9.x needs SHA-384 advertised (strongswan#1607): every accepted digest is named."""
    policy = AlgorithmPolicy(allow_legacy=allow_legacy)
    advertised = {keyword for keyword in capabilities(policy) if keyword.startswith("SHA-")}
    accepted = {digest.display_name for digest in DigestAlgorithm if policy.allows_digest(digest)}
    assert advertised == accepted


def test_client_falls_back_to_legacy_only_when_allowed(strict, legacy):
    assert choose_algorithms(["DES3", "SHA-1"], legacy) == (ContentCipher.DES3_CBC, DigestAlgorithm.SHA1)
    assert choose_algorithms([], legacy) == (ContentCipher.DES_CBC, DigestAlgorithm.SHA1)
    with pytest.raises(ScepFailure) as failure:
        choose_algorithms([], strict)
    assert failure.value.fail_info is FailInfo.BAD_ALG
