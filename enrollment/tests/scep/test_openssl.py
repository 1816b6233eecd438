"""Independent checks with OpenSSL: what we build, OpenSSL reads; what OpenSSL builds, we read."""

import os
import re

import pytest

from cryptography.hazmat.primitives import serialization

from enrollment.scep import (
    AlgorithmPolicy,
    ContentCipher,
    DigestAlgorithm,
    FailInfo,
    MessageType,
    PkiStatus,
    ScepFailure,
    build_cert_rep,
    build_csr,
    build_degenerate,
    build_pki_message,
    decrypt_envelope,
    parse_degenerate,
    parse_pki_message,
)
from enrollment.scep.signeddata import parse_signed_data, verify_signed_content

from .pki import issue, key_pem, make_crl, name, openssl, pem

pytestmark = pytest.mark.external

LEGACY = AlgorithmPolicy(allow_legacy=True)
STRICT = AlgorithmPolicy()
# OpenSSL 3 keeps single DES in the legacy provider.
LEGACY_PROVIDER = ("-provider", "legacy", "-provider", "default")
OPENSSL_CIPHERS = {
    ContentCipher.AES128_CBC: "-aes128",
    ContentCipher.AES192_CBC: "-aes192",
    ContentCipher.AES256_CBC: "-aes256",
    ContentCipher.DES3_CBC: "-des3",
    ContentCipher.DES_CBC: "-des",
}


@pytest.fixture(scope="module")
def issued(ca, requester):
    return issue(ca, build_csr(requester.key, name("device-1")))


@pytest.fixture
def files(tmp_path, ca, ra, requester, foreign_ra):
    paths = {
        "ca": tmp_path / "ca.pem",
        "ra": tmp_path / "ra.pem",
        "ra_key": tmp_path / "ra.key",
        "foreign": tmp_path / "foreign.pem",
        "requester": tmp_path / "requester.pem",
        "requester_key": tmp_path / "requester.key",
        "empty": tmp_path / "empty",
    }
    paths["ca"].write_bytes(pem(ca.certificate))
    paths["ra"].write_bytes(pem(ra.certificate))
    paths["ra_key"].write_bytes(key_pem(ra.key))
    paths["foreign"].write_bytes(pem(foreign_ra.certificate))
    paths["requester"].write_bytes(pem(requester.certificate))
    paths["requester_key"].write_bytes(key_pem(requester.key))
    paths["empty"].write_bytes(b"")
    return paths


@pytest.fixture
def success(ca, ra, requester, issued):
    """Builds a CertRep SUCCESS carrying the issued certificate and the CA certificate."""

    def build(*, cipher=ContentCipher.AES128_CBC, digest=DigestAlgorithm.SHA256):
        return build_cert_rep(
            transaction_id="tid-1",
            recipient_nonce=os.urandom(16),
            status=PkiStatus.SUCCESS,
            signer_certificate=ra.certificate,
            signer_key=ra.key,
            digest=digest,
            recipient_certificate=requester.certificate,
            cipher=cipher,
            certificates=[issued, ca.certificate],
            extra_certificates=[ca.certificate],
        )

    return build


@pytest.mark.parametrize("digest", [DigestAlgorithm.SHA256, DigestAlgorithm.SHA384, DigestAlgorithm.SHA512])
def test_openssl_verifies_our_cert_rep(tmp_path, files, success, digest):
    der = success(digest=digest)
    (tmp_path / "rep.der").write_bytes(der)
    content = openssl("cms", "-verify", "-inform", "DER", "-in", tmp_path / "rep.der", "-noverify")
    assert content == parse_pki_message(der).envelope
    # And with the chain: the RA certificate verifies up to the CA.
    openssl(
        "cms",
        "-verify",
        "-inform",
        "DER",
        "-in",
        tmp_path / "rep.der",
        "-CAfile",
        files["ca"],
        "-purpose",
        "any",
    )


@pytest.mark.parametrize("status", [PkiStatus.FAILURE, PkiStatus.PENDING])
def test_openssl_verifies_our_contentless_cert_rep(tmp_path, files, ra, status):
    der = build_cert_rep(
        transaction_id="tid-1",
        recipient_nonce=os.urandom(16),
        status=status,
        signer_certificate=ra.certificate,
        signer_key=ra.key,
        digest=DigestAlgorithm.SHA256,
        fail_info=FailInfo.BAD_REQUEST if status is PkiStatus.FAILURE else None,
        fail_info_text="wrong challenge" if status is PkiStatus.FAILURE else None,
    )
    (tmp_path / "rep.der").write_bytes(der)
    # The eContent is present and empty, so no detached content is needed: CMS_verify ...
    content = openssl("cms", "-verify", "-inform", "DER", "-in", tmp_path / "rep.der", "-noverify")
    assert content == b""
    # ... and PKCS7_verify, which certmonger's scep-submit uses, verify it (it refused an absent eContent
    # with "PKCS7 routines::no content").
    openssl("smime", "-verify", "-inform", "DER", "-in", tmp_path / "rep.der", "-noverify")
    printed = openssl("cms", "-cmsout", "-print", "-inform", "DER", "-in", tmp_path / "rep.der").decode()
    assert "2.16.840.1.113733.1.9.3" in printed  # pkiStatus
    assert "eContent: <ABSENT>" not in printed


@pytest.mark.parametrize("cipher", list(ContentCipher))
def test_openssl_decrypts_our_envelope(tmp_path, files, success, cipher):
    envelope = parse_pki_message(success(cipher=cipher)).envelope
    (tmp_path / "env.der").write_bytes(envelope)
    degenerate = openssl(
        "cms",
        "-decrypt",
        "-inform",
        "DER",
        "-in",
        tmp_path / "env.der",
        "-inkey",
        files["requester_key"],
        "-recip",
        files["requester"],
        *LEGACY_PROVIDER,
    )
    (tmp_path / "certs.der").write_bytes(degenerate)
    printed = openssl("pkcs7", "-print_certs", "-inform", "DER", "-in", tmp_path / "certs.der").decode()
    subjects = re.findall(r"^subject=(.*)$", printed, flags=re.MULTILINE)
    assert [subject.split("CN = ")[-1] for subject in subjects] == ["device-1", "certportal test CA"]


@pytest.mark.parametrize("cipher", list(ContentCipher))
def test_we_decrypt_openssl_envelopes(tmp_path, files, ra, cipher):
    plaintext = os.urandom(1000)
    (tmp_path / "plain").write_bytes(plaintext)
    envelope = openssl(
        "cms",
        "-encrypt",
        "-binary",
        "-outform",
        "DER",
        OPENSSL_CIPHERS[cipher],
        *LEGACY_PROVIDER,
        "-in",
        tmp_path / "plain",
        files["ra"],
    )
    assert decrypt_envelope(
        envelope, recipient_key=ra.key, recipient_certificate=ra.certificate, policy=LEGACY
    ) == (plaintext, cipher)


def test_we_decrypt_openssl_envelopes_addressed_by_key_id_to_several_recipients(tmp_path, files, ra):
    (tmp_path / "plain").write_bytes(b"csr")
    envelope = openssl(
        "cms",
        "-encrypt",
        "-binary",
        "-outform",
        "DER",
        "-aes256",
        "-keyid",
        "-in",
        tmp_path / "plain",
        files["foreign"],
        files["ra"],
    )
    assert decrypt_envelope(
        envelope, recipient_key=ra.key, recipient_certificate=ra.certificate, policy=AlgorithmPolicy()
    ) == (b"csr", ContentCipher.AES256_CBC)


def test_openssl_des3_envelope_refused_without_legacy(tmp_path, files, ra):
    (tmp_path / "plain").write_bytes(b"csr")
    envelope = openssl(
        "cms", "-encrypt", "-binary", "-outform", "DER", "-des3", "-in", tmp_path / "plain", files["ra"]
    )
    with pytest.raises(ScepFailure) as failure:
        decrypt_envelope(
            envelope, recipient_key=ra.key, recipient_certificate=ra.certificate, policy=AlgorithmPolicy()
        )
    assert failure.value.fail_info is FailInfo.BAD_ALG


def test_openssl_oaep_envelope_is_bad_alg(tmp_path, files, ra):
    (tmp_path / "plain").write_bytes(b"csr")
    envelope = openssl(
        "cms",
        "-encrypt",
        "-binary",
        "-outform",
        "DER",
        "-aes128",
        "-in",
        tmp_path / "plain",
        "-recip",
        files["ra"],
        "-keyopt",
        "rsa_padding_mode:oaep",
    )
    with pytest.raises(ScepFailure) as failure:
        decrypt_envelope(
            envelope, recipient_key=ra.key, recipient_certificate=ra.certificate, policy=AlgorithmPolicy()
        )
    assert failure.value.fail_info is FailInfo.BAD_ALG
    assert "RSA-OAEP" in failure.value.text


def test_openssl_reads_our_degenerate_bundle(tmp_path, ca, ra):
    (tmp_path / "bundle.der").write_bytes(build_degenerate([ra.certificate, ca.certificate]))
    printed = openssl("pkcs7", "-print_certs", "-inform", "DER", "-in", tmp_path / "bundle.der").decode()
    subjects = re.findall(r"^subject=.*CN = (.*)$", printed, flags=re.MULTILINE)
    assert subjects == ["certportal test RA", "certportal test CA"]


def test_openssl_reads_our_crl_bundle(tmp_path, ca):
    crl = make_crl(ca, [7])
    (tmp_path / "crls.der").write_bytes(build_degenerate(crls=[crl]))
    printed = openssl("pkcs7", "-print_certs", "-inform", "DER", "-in", tmp_path / "crls.der").decode()
    assert "Serial Number: 07" in printed


def test_we_read_openssl_degenerate_bundles(tmp_path, files, ca, ra):
    crl = make_crl(ca, [7])
    (tmp_path / "crl.pem").write_bytes(pem(crl))
    (tmp_path / "certs.pem").write_bytes(pem(ra.certificate, ca.certificate))
    bundle = openssl(
        "crl2pkcs7", "-outform", "DER", "-in", tmp_path / "crl.pem", "-certfile", tmp_path / "certs.pem"
    )
    assert parse_degenerate(bundle) == ([ra.certificate, ca.certificate], [crl])


@pytest.mark.parametrize("md", ["sha256", "sha512", "sha1"])
def test_we_verify_openssl_signed_data(tmp_path, files, ra, md):
    (tmp_path / "plain").write_bytes(b"signed by openssl")
    signed = openssl(
        "cms",
        "-sign",
        "-binary",
        "-nodetach",
        "-outform",
        "DER",
        "-md",
        md,
        "-in",
        tmp_path / "plain",
        "-signer",
        files["ra"],
        "-inkey",
        files["ra_key"],
    )
    content = parse_signed_data(signed)
    assert content.econtent == b"signed by openssl"
    assert content.signer_certificate == ra.certificate
    verify_signed_content(content, policy=LEGACY)


def test_openssl_reads_our_request_down_to_the_challenge(tmp_path, files, ra, requester):
    csr = build_csr(requester.key, name("device-1"), challenge_password="s3cret")
    der = build_pki_message(
        message_type=MessageType.PKCS_REQ,
        transaction_id="tid",
        sender_nonce=os.urandom(16),
        message_data=csr.public_bytes(serialization.Encoding.DER),
        recipient_certificate=ra.certificate,
        signer_certificate=requester.certificate,
        signer_key=requester.key,
        cipher=ContentCipher.AES128_CBC,
        digest=DigestAlgorithm.SHA256,
    )
    (tmp_path / "req.der").write_bytes(der)
    envelope = openssl("cms", "-verify", "-inform", "DER", "-in", tmp_path / "req.der", "-noverify")
    (tmp_path / "env.der").write_bytes(envelope)
    decrypted = openssl(
        "cms",
        "-decrypt",
        "-inform",
        "DER",
        "-in",
        tmp_path / "env.der",
        "-inkey",
        files["ra_key"],
        "-recip",
        files["ra"],
    )
    (tmp_path / "csr.der").write_bytes(decrypted)
    printed = openssl(
        "req", "-inform", "DER", "-in", tmp_path / "csr.der", "-noout", "-text", "-verify"
    ).decode()
    assert "challengePassword        :s3cret" in printed


def test_we_read_openssl_streamed_ber(tmp_path, files, ra):
    """-stream gives indefinite lengths and a constructed encryptedContent/eContent."""
    plaintext = os.urandom(3000)
    (tmp_path / "plain").write_bytes(plaintext)
    envelope = openssl(
        "cms",
        "-encrypt",
        "-stream",
        "-binary",
        "-outform",
        "DER",
        "-aes128",
        "-in",
        tmp_path / "plain",
        files["ra"],
    )
    assert envelope[:2] == b"\x30\x80"
    assert decrypt_envelope(
        envelope, recipient_key=ra.key, recipient_certificate=ra.certificate, policy=STRICT
    ) == (plaintext, ContentCipher.AES128_CBC)
    signed = openssl(
        "cms",
        "-sign",
        "-stream",
        "-binary",
        "-nodetach",
        "-outform",
        "DER",
        "-in",
        tmp_path / "plain",
        "-signer",
        files["ra"],
        "-inkey",
        files["ra_key"],
    )
    assert signed[:2] == b"\x30\x80"
    content = parse_signed_data(signed)
    assert content.econtent == plaintext
    verify_signed_content(content, policy=STRICT)
