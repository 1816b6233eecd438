"""Loading and checking PKCS#10 certificate signing requests."""

from __future__ import annotations

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm

__all__ = ["CsrError", "csr_signature_hash", "load_csr"]

_MAX_CSR_BYTES = 64 * 1024
#: Hashes no CSR may be signed with (``cryptography`` no longer verifies them anyway).
_REFUSED_HASHES = frozenset({"sha1", "md5"})


class CsrError(ValueError):
    """A CSR that cannot be used.

    ``code``: csr_malformed, csr_signature_invalid, signature_hash_unsupported, signature_hash_not_allowed.
    """

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


def load_csr(data: bytes | str) -> x509.CertificateSigningRequest:
    """Parse a PEM or DER CSR and verify its self-signature (proof of possession of the key)."""
    raw = data.encode("ascii", errors="replace") if isinstance(data, str) else data
    if len(raw) > _MAX_CSR_BYTES:
        raise CsrError(f"CSR larger than {_MAX_CSR_BYTES} bytes", "csr_malformed")
    try:
        if raw.lstrip().startswith(b"-----BEGIN"):
            csr = x509.load_pem_x509_csr(raw)
        else:
            csr = x509.load_der_x509_csr(raw)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise CsrError(f"not a PKCS#10 certificate request: {exc}", "csr_malformed") from exc
    if csr_signature_hash(csr) in _REFUSED_HASHES:
        raise CsrError(
            f"the CSR is signed with {csr_signature_hash(csr).upper()}, which is not allowed; "
            "use SHA-256 or stronger",
            "signature_hash_not_allowed",
        )
    try:
        valid = csr.is_signature_valid
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise CsrError(f"CSR signature cannot be checked: {exc}", "signature_hash_unsupported") from exc
    if not valid:
        raise CsrError("the CSR's signature does not verify with its own public key", "csr_signature_invalid")
    return csr


def csr_signature_hash(csr: x509.CertificateSigningRequest) -> str:
    """Name of the hash the CSR was signed with (sha1, sha256, ...), '' for Ed25519/Ed448."""
    try:
        algorithm = csr.signature_hash_algorithm
    except UnsupportedAlgorithm as exc:
        raise CsrError(
            f"CSR signed with an unsupported algorithm: {exc}", "signature_hash_unsupported"
        ) from exc
    if algorithm is None:
        return ""
    return algorithm.name.replace("-", "")
