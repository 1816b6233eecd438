"""pkcsPKIEnvelope (RFC 8894 §3.2.2): CMS EnvelopedData with RSA PKCS#1 v1.5 key transport.

Only ``KeyTransRecipientInfo`` with rsaEncryption key transport is implemented, which is what SCEP
clients send. RSA-OAEP key transport (RFC 3560) is answered with badAlg: no SCEP client we know sends it.

Decryption failures are deliberately uniform: a wrong key, bad PKCS#1 padding (``cryptography`` uses
OpenSSL's implicit rejection, so most such keys decrypt to random bytes), a content-encryption key of the
wrong length, a bad IV or CBC padding all raise the same ``ScepFailure(BAD_MESSAGE_CHECK)`` with the same
text after the same work, so the reply is no padding oracle for the RSA layer.

CBC has no integrity: a tampered ciphertext whose padding happens to be valid decrypts to garbage, which
the caller then fails to parse (badRequest). Anyone can re-sign a captured envelope with a self-signed
certificate, so a server should rate-limit PKIOperation and may answer "does not decrypt" and "does not
parse" alike; the challenge inside is one-time, which limits what such an oracle could win.
"""

import os

from asn1crypto import cms, core
from cryptography import x509
from cryptography.hazmat.primitives import padding as symmetric_padding
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, modes

from . import der, schema
from .algorithms import AlgorithmPolicy, ContentCipher
from .constants import OID_DATA, OID_ENVELOPED_DATA, OID_RSA_ENCRYPTION, OID_RSAES_OAEP, FailInfo
from .errors import ScepFailure
from .signeddata import DECODING_ERRORS, asn1_certificate, describe_error, names_equal

__all__ = ["DECRYPTION_FAILED", "NOT_FOR_US", "decrypt_envelope", "encrypt_envelope"]

#: The one failInfoText for every decryption failure (no padding oracle).
DECRYPTION_FAILED = "the pkcsPKIEnvelope could not be decrypted"
NOT_FOR_US = "the pkcsPKIEnvelope is not encrypted to this server's RA certificate"


def decrypt_envelope(
    der: bytes,
    *,
    recipient_key: rsa.RSAPrivateKey,
    recipient_certificate: x509.Certificate,
    policy: AlgorithmPolicy,
) -> tuple[bytes, ContentCipher]:
    """Decrypt a ContentInfo(EnvelopedData) addressed to ``recipient_certificate``.

    The recipient is matched by issuerAndSerialNumber or subjectKeyIdentifier. The content cipher is
    checked against ``policy`` before anything is decrypted. Returns the plaintext and the cipher used (a
    server answers with the same cipher, see ``build_cert_rep``).

    Raises:
        ScepFailure: BAD_REQUEST if it is no EnvelopedData, BAD_ALG for a refused or unknown algorithm,
            BAD_MESSAGE_CHECK if it is not for us or does not decrypt.
    """
    try:
        encrypted_key, key_transport, cipher_oid, iv, ciphertext = _unpack(der, recipient_certificate)
    except DECODING_ERRORS as exc:
        raise ScepFailure(
            FailInfo.BAD_REQUEST,
            f"the pkcsPKIEnvelope is not a valid CMS EnvelopedData: {describe_error(exc)}",
        ) from exc
    if key_transport == OID_RSAES_OAEP:
        raise ScepFailure(
            FailInfo.BAD_ALG, "RSA-OAEP key transport is not supported; use RSA PKCS#1 v1.5 (rsaEncryption)"
        )
    if key_transport != OID_RSA_ENCRYPTION:
        raise ScepFailure(FailInfo.BAD_ALG, f"key transport algorithm {key_transport} is not supported")
    cipher = policy.check_cipher(cipher_oid)
    try:
        key = recipient_key.decrypt(encrypted_key, padding.PKCS1v15())
    except ValueError:
        key = b""
    # RFC 3218 §2.3.2: a content-encryption key of the wrong length (a bad RSA block) goes on with a random
    # key, so that it costs the same work as a good one; it fails after the CBC decryption either way.
    key_ok = len(key) == cipher.key_size
    if not key_ok:
        key = os.urandom(cipher.key_size)
    try:
        if (
            iv is None
            or len(iv) != cipher.block_size
            or not ciphertext
            or len(ciphertext) % cipher.block_size
        ):
            raise ValueError(DECRYPTION_FAILED)
        decryptor = Cipher(cipher.algorithm(key), modes.CBC(iv)).decryptor()
        padded = decryptor.update(ciphertext) + decryptor.finalize()
        unpadder = symmetric_padding.PKCS7(cipher.block_size * 8).unpadder()
        plaintext = unpadder.update(padded) + unpadder.finalize()
        if not key_ok:
            raise ValueError(DECRYPTION_FAILED)
    except ValueError:
        raise ScepFailure(FailInfo.BAD_MESSAGE_CHECK, DECRYPTION_FAILED) from None
    return plaintext, cipher


def _unpack(
    der: bytes, recipient_certificate: x509.Certificate
) -> tuple[bytes, str, str, bytes | None, bytes | None]:
    content_info = schema.ContentInfo.load(der, strict=True)
    if content_info["content_type"].dotted != OID_ENVELOPED_DATA:
        raise ValueError(f"content type is {content_info['content_type'].dotted}, not envelopedData")
    enveloped = content_info["content"]
    if not isinstance(enveloped, schema.EnvelopedData):
        raise ValueError("EnvelopedData content is missing")
    ours = asn1_certificate(recipient_certificate)
    for recipient in enveloped["recipient_infos"]:
        if recipient.name != "ktri":
            continue
        info = recipient.chosen
        rid = info["rid"]
        if rid.name == "issuer_and_serial_number":
            matches = rid.chosen["serial_number"].native == ours.serial_number and names_equal(
                rid.chosen["issuer"], ours.issuer
            )
        else:
            matches = ours.key_identifier is not None and rid.chosen.native == ours.key_identifier
        if matches:
            break
    else:
        raise ScepFailure(FailInfo.BAD_MESSAGE_CHECK, NOT_FOR_US)
    content = enveloped["encrypted_content_info"]
    algorithm = content["content_encryption_algorithm"]
    return (
        info["encrypted_key"].native,
        info["key_encryption_algorithm"]["algorithm"].dotted,
        algorithm["algorithm"].dotted,
        _iv(algorithm),
        _ciphertext(content["encrypted_content"]),
    )


def _ciphertext(value: core.Any | core.Void) -> bytes | None:
    """The encryptedContent octets, None if absent or not an [0] OCTET STRING (fails later, uniformly)."""
    if isinstance(value, core.Void):
        return None
    try:
        return schema.implicit_octet_string(value, 0)
    except DECODING_ERRORS:
        return None


def _iv(algorithm: cms.EncryptionAlgorithm) -> bytes | None:
    """The CBC IV from the algorithm parameters, None if they are not an OCTET STRING (fails later)."""
    try:
        parameters = algorithm["parameters"]
        if isinstance(parameters, core.Any):
            parameters = parameters.parse(core.OctetString)
        return parameters.native if isinstance(parameters, core.OctetString) else None
    except DECODING_ERRORS:
        return None


def encrypt_envelope(
    plaintext: bytes, *, recipient_certificate: x509.Certificate, cipher: ContentCipher
) -> bytes:
    """Encrypt ``plaintext`` to ``recipient_certificate`` as a ContentInfo(EnvelopedData), version 0.

    A fresh random content-encryption key and IV are used; the key is wrapped with RSA PKCS#1 v1.5 and the
    recipient identified by issuerAndSerialNumber.

    Raises:
        ScepFailure: BAD_ALG if the certificate does not hold an RSA key (SCEP key transport is RSA only).
    """
    public_key = recipient_certificate.public_key()
    if not isinstance(public_key, rsa.RSAPublicKey):
        raise ScepFailure(
            FailInfo.BAD_ALG,
            "the recipient certificate has no RSA key; SCEP envelopes need RSA key transport",
        )
    key = os.urandom(cipher.key_size)
    iv = os.urandom(cipher.block_size)
    padder = symmetric_padding.PKCS7(cipher.block_size * 8).padder()
    padded = padder.update(plaintext) + padder.finalize()
    encryptor = Cipher(cipher.algorithm(key), modes.CBC(iv)).encryptor()
    ciphertext = encryptor.update(padded) + encryptor.finalize()
    # Written with ``der`` (as ``sign_signed_data`` is): asn1crypto's encoding of the same structure cost
    # more than the encryption. The recipient's issuer and serial number as its certificate encodes them.
    tbs = asn1_certificate(recipient_certificate)["tbs_certificate"]
    key_transport = der.sequence(
        _VERSION_0,
        der.sequence(tbs["issuer"].dump(), tbs["serial_number"].dump()),  # rid: issuerAndSerialNumber
        _RSA_ENCRYPTION,
        der.encode(der.OCTET_STRING, public_key.encrypt(key, padding.PKCS1v15())),
    )
    encrypted_content_info = der.sequence(
        der.object_identifier(OID_DATA),
        der.sequence(der.object_identifier(cipher.oid), der.encode(der.OCTET_STRING, iv)),
        der.encode(_CONTEXT_0_PRIMITIVE, ciphertext),  # encryptedContent [0] IMPLICIT OCTET STRING
    )
    enveloped = der.sequence(_VERSION_0, der.encode(der.SET, key_transport), encrypted_content_info)
    return der.sequence(der.object_identifier(OID_ENVELOPED_DATA), der.encode(der.CONTEXT_0, enveloped))


_VERSION_0 = bytes((der.INTEGER, 1, 0))
_CONTEXT_0_PRIMITIVE = 0x80
#: AlgorithmIdentifier rsaEncryption with NULL parameters (RFC 3370 §4.2.1).
_RSA_ENCRYPTION = der.sequence(der.object_identifier(OID_RSA_ENCRYPTION), b"\x05\x00")
