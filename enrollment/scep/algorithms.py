"""Content ciphers, digests, the legacy-algorithm policy and the GetCACaps keywords.

RFC 8894 §2.9 makes AES-128-CBC and SHA-256 mandatory; DES, triple DES and SHA-1 are legacy (§7.9) and
are accepted only when the CA's policy allows legacy algorithms. MD5 is recognised (to name it in the
error) but never accepted.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum

from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers import BlockCipherAlgorithm
from cryptography.hazmat.primitives.ciphers.algorithms import AES

from .constants import FailInfo
from .errors import ScepFailure

__all__ = ["AlgorithmPolicy", "ContentCipher", "DigestAlgorithm", "capabilities", "choose_algorithms"]


class ContentCipher(Enum):
    """Content-encryption algorithms of the pkcsPKIEnvelope (all CBC with PKCS#7 padding)."""

    # name: (OID, display name, key bytes, block bytes, legacy)
    DES_CBC = ("1.3.14.3.2.7", "DES-CBC", 8, 8, True)
    DES3_CBC = ("1.2.840.113549.3.7", "3DES-CBC", 24, 8, True)
    AES128_CBC = ("2.16.840.1.101.3.4.1.2", "AES-128-CBC", 16, 16, False)
    AES192_CBC = ("2.16.840.1.101.3.4.1.22", "AES-192-CBC", 24, 16, False)
    AES256_CBC = ("2.16.840.1.101.3.4.1.42", "AES-256-CBC", 32, 16, False)

    oid: str
    display_name: str
    key_size: int
    block_size: int
    legacy: bool

    def __init__(self, oid: str, display_name: str, key_size: int, block_size: int, legacy: bool) -> None:
        self.oid = oid
        self.display_name = display_name
        self.key_size = key_size
        self.block_size = block_size
        self.legacy = legacy

    @classmethod
    def from_oid(cls, oid: str) -> "ContentCipher | None":
        """The cipher with this dotted OID, or None when we do not implement it."""
        return _CIPHERS_BY_OID.get(oid)

    def algorithm(self, key: bytes) -> BlockCipherAlgorithm:
        """The ``cryptography`` block cipher for ``key``.

        Single DES is triple DES with the 8-byte key repeated three times (EDE with K1=K2=K3 is DES), which
        avoids ``cryptography``'s deprecation warning for 8-byte TripleDES keys.
        """
        if len(key) != self.key_size:
            raise ValueError(f"{self.display_name} needs a {self.key_size}-byte key")
        if self is ContentCipher.DES_CBC:
            return TripleDES(key * 3)
        if self is ContentCipher.DES3_CBC:
            return TripleDES(key)
        return AES(key)


_CIPHERS_BY_OID = {cipher.oid: cipher for cipher in ContentCipher}


class DigestAlgorithm(Enum):
    """Message digests for the SignerInfo (and the hash inside the RSA/ECDSA signature)."""

    # name: (OID, display name, legacy)
    MD5 = ("1.2.840.113549.2.5", "MD5", True)
    SHA1 = ("1.3.14.3.2.26", "SHA-1", True)
    SHA256 = ("2.16.840.1.101.3.4.2.1", "SHA-256", False)
    SHA384 = ("2.16.840.1.101.3.4.2.2", "SHA-384", False)
    SHA512 = ("2.16.840.1.101.3.4.2.3", "SHA-512", False)

    oid: str
    display_name: str
    legacy: bool

    def __init__(self, oid: str, display_name: str, legacy: bool) -> None:
        self.oid = oid
        self.display_name = display_name
        self.legacy = legacy

    @classmethod
    def from_oid(cls, oid: str) -> "DigestAlgorithm | None":
        """The digest with this dotted OID, or None when we do not know it."""
        return _DIGESTS_BY_OID.get(oid)

    def hash_algorithm(self) -> hashes.HashAlgorithm:
        """A fresh ``cryptography`` hash object for this digest."""
        return _HASH_FACTORIES[self]()

    def digest(self, data: bytes) -> bytes:
        """Hash ``data`` with this algorithm."""
        hasher = hashes.Hash(self.hash_algorithm())
        hasher.update(data)
        return hasher.finalize()


_DIGESTS_BY_OID = {digest.oid: digest for digest in DigestAlgorithm}
_HASH_FACTORIES: dict[DigestAlgorithm, type[hashes.HashAlgorithm]] = {
    DigestAlgorithm.MD5: hashes.MD5,
    DigestAlgorithm.SHA1: hashes.SHA1,
    DigestAlgorithm.SHA256: hashes.SHA256,
    DigestAlgorithm.SHA384: hashes.SHA384,
    DigestAlgorithm.SHA512: hashes.SHA512,
}


@dataclass(frozen=True)
class AlgorithmPolicy:
    """Which algorithms a CA accepts from clients.

    With ``allow_legacy`` off only AES-128/192/256-CBC and SHA-256/384/512 pass. With it on, DES-CBC,
    3DES-CBC and SHA-1 pass too (micromdm's scepclient sends DES-CBC and SHA-1 whatever GetCACaps says).
    MD5 never passes.
    """

    allow_legacy: bool = False

    def check_cipher(self, cipher: "ContentCipher | str") -> ContentCipher:
        """Return the cipher if allowed, else raise ``ScepFailure(BAD_ALG)``; a str is an unknown OID."""
        if isinstance(cipher, str):
            known = ContentCipher.from_oid(cipher)
            if known is None:
                raise ScepFailure(
                    FailInfo.BAD_ALG, f"content encryption algorithm {cipher} is not supported by this CA"
                )
            cipher = known
        if cipher.legacy and not self.allow_legacy:
            raise ScepFailure(
                FailInfo.BAD_ALG,
                f"content encryption algorithm {cipher.display_name} ({cipher.oid}) is a legacy algorithm "
                "and legacy algorithms are disabled for this CA; use AES",
            )
        return cipher

    def check_digest(self, digest: "DigestAlgorithm | str") -> DigestAlgorithm:
        """Return the digest if allowed, else raise ``ScepFailure(BAD_ALG)``; a str is an unknown OID."""
        if isinstance(digest, str):
            known = DigestAlgorithm.from_oid(digest)
            if known is None:
                raise ScepFailure(FailInfo.BAD_ALG, f"digest algorithm {digest} is not supported by this CA")
            digest = known
        if digest is DigestAlgorithm.MD5:
            raise ScepFailure(FailInfo.BAD_ALG, f"digest algorithm MD5 ({digest.oid}) is never accepted")
        if digest.legacy and not self.allow_legacy:
            raise ScepFailure(
                FailInfo.BAD_ALG,
                f"digest algorithm {digest.display_name} ({digest.oid}) is a legacy algorithm "
                "and legacy algorithms are disabled for this CA; use SHA-256",
            )
        return digest

    def allows_cipher(self, cipher: ContentCipher) -> bool:
        return self.allow_legacy or not cipher.legacy

    def allows_digest(self, digest: DigestAlgorithm) -> bool:
        return digest is not DigestAlgorithm.MD5 and (self.allow_legacy or not digest.legacy)


def capabilities(policy: AlgorithmPolicy, *, renewal: bool = True, next_ca_cert: bool = False) -> list[str]:
    """GetCACaps keywords (RFC 8894 §3.5.2), one per line in the reply.

    Every digest the policy accepts is named: SHA-256 and SHA-512 (§3.5.2 keywords) and SHA-384, which
    §3.5.2 does not list but clients must ignore if they do not know it. strongSwan's ``pki --scep`` 5.9.x
    (Debian 12) needs it: it tests its capability flags with bit numbers instead of masks (strongswan#1607),
    so it believes SHA-256, AES, POST and Renewal are unsupported unless SHA-384 (whose bit is the one it
    tests for SCEPStandard) or DES3 is advertised. SHA-224 is not accepted, so not named.
    ``GetNextCACert`` only when CA rollover is configured; ``SHA-1`` and ``DES3`` only with legacy on.
    """
    keywords = ["POSTPKIOperation", "SHA-256", "SHA-384", "SHA-512", "AES", "SCEPStandard"]
    if renewal:
        keywords.append("Renewal")
    if next_ca_cert:
        keywords.append("GetNextCACert")
    if policy.allow_legacy:
        keywords += ["SHA-1", "DES3"]
    return keywords


def choose_algorithms(
    caps: Iterable[str], policy: AlgorithmPolicy = AlgorithmPolicy()
) -> tuple[ContentCipher, DigestAlgorithm]:
    """Client side: the strongest cipher and digest the server's GetCACaps reply allows.

    ``SCEPStandard`` implies AES and SHA-256 (§3.5.2). Without a modern keyword the client falls back to
    DES3/DES and SHA-1, and only if ``policy`` allows legacy algorithms; otherwise ``ScepFailure(BAD_ALG)``.
    """
    keywords = {keyword.strip().upper() for keyword in caps}
    standard = "SCEPSTANDARD" in keywords
    if standard or "AES" in keywords:
        cipher = ContentCipher.AES128_CBC
    elif "DES3" in keywords:
        cipher = ContentCipher.DES3_CBC
    else:
        cipher = ContentCipher.DES_CBC
    if standard or "SHA-256" in keywords:
        digest = DigestAlgorithm.SHA256
    elif "SHA-512" in keywords:
        digest = DigestAlgorithm.SHA512
    elif "SHA-384" in keywords:
        digest = DigestAlgorithm.SHA384
    else:
        digest = DigestAlgorithm.SHA1
    return policy.check_cipher(cipher), policy.check_digest(digest)
