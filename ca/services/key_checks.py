"""Can the CA worker sign with every CA's key? Asked when a CA worker starts (``portal.celery``) and by
readiness in the embedded default, where the one process is the CA worker.

A CA key that cannot be used (a wrong ``CERTPORTAL_CA_KEY_PASSPHRASE``, a key file or token that is not
there, a backend that is not configured) would otherwise be found only by the first task that needs it,
after the worker had reported ready and accepted that task. The check uses each enabled CA's key as
issuance does: through its key backend, which signs a fixed challenge (in the token, for a PKCS#11 backend);
the signature is then verified with the CA certificate's public key, so a key that is reachable but does
not belong to the certificate fails too.
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, padding, rsa

from ca.key_backends import KeyBackendUnavailable, key_backends
from ca.models import CertificateAuthority

__all__ = ["AuthorityKeyProblem", "authority_keys_check"]

_CHALLENGE = b"certportal: can this CA key sign?"


@dataclass(frozen=True)
class AuthorityKeyProblem:
    """A CA whose key cannot sign, and why (said so that an operator knows what to fix)."""

    slug: str
    reason: str


def authority_keys_check() -> list[AuthorityKeyProblem]:
    """Every enabled, unexpired CA whose key cannot sign; empty when all can."""
    problems: list[AuthorityKeyProblem] = []
    for authority in CertificateAuthority.objects.filter(enabled=True).order_by("slug"):
        if authority.remaining_validity().total_seconds() <= 0:
            continue  # an expired CA signs nothing any more (its CRL is the last one)
        reason = _key_problem(authority)
        if reason is not None:
            problems.append(AuthorityKeyProblem(slug=authority.slug, reason=reason))
    return problems


def _key_problem(authority: CertificateAuthority) -> str | None:
    certificate_key = authority.certificate.public_key()
    try:
        backend = key_backends[authority.key_backend]
        if backend.public_key(authority.key_reference) != certificate_key:
            return "the key does not belong to the CA certificate"
        signature = backend.sign_data(authority.key_reference, _CHALLENGE)
    except KeyBackendUnavailable as exc:
        return exc.message
    except (KeyError, LookupError, OSError, ValueError) as exc:
        return f"key backend {authority.key_backend!r}: {type(exc).__name__}: {exc}"
    try:
        _verify(certificate_key, signature)
    except InvalidSignature:
        return "the key's signature does not verify with the CA certificate"
    return None


def _verify(public: object, signature: bytes) -> None:
    """Verify ``sign_data``'s signature over the challenge (SHA-256 where the key type takes a hash)."""
    sha256 = hashes.SHA256()
    if isinstance(public, rsa.RSAPublicKey):
        public.verify(signature, _CHALLENGE, padding.PKCS1v15(), sha256)
    elif isinstance(public, ec.EllipticCurvePublicKey):
        public.verify(signature, _CHALLENGE, ec.ECDSA(sha256))
    elif isinstance(public, ed25519.Ed25519PublicKey | ed448.Ed448PublicKey):
        public.verify(signature, _CHALLENGE)
    else:
        raise InvalidSignature(f"a CA certificate key of type {type(public).__name__} cannot be checked")
