"""The RA's key and certificates, decrypted once per process (parsing an RSA key costs milliseconds)."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from django.core.signals import setting_changed
from django.dispatch import receiver

from core.exceptions import ApplicationError
from enrollment.conf import enrollment_settings
from enrollment.models import RegistrationAuthority

__all__ = ["RaIdentity", "RaUnavailable", "ra_identity", "ra_key_encrypt"]


class RaUnavailable(ApplicationError):
    code = "ra_unavailable"
    http_status = 503


@dataclass(frozen=True)
class RaIdentity:
    certificate: x509.Certificate
    key: rsa.RSAPrivateKey
    #: The issuing CA's certificate and its issuers up to the root.
    ca_chain: tuple[x509.Certificate, ...]


_cache: dict[tuple[int, str], RaIdentity] = {}
_lock = threading.Lock()


def _passphrase() -> bytes:
    value = enrollment_settings().RA_KEY_PASSPHRASE.get_secret_value()
    if not value:
        raise RaUnavailable("this process has no RA key passphrase (CERTPORTAL_RA_KEY_PASSPHRASE)")
    return value.encode("utf-8")


def ra_key_encrypt(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(_passphrase()),
    ).decode("ascii")


def ra_identity(ra: RegistrationAuthority) -> RaIdentity:
    cache_key = (ra.pk, ra.fingerprint_sha256)
    with _lock:
        identity = _cache.get(cache_key)
    if identity is not None:
        return identity
    try:
        key = serialization.load_pem_private_key(ra.encrypted_key_pem.encode("ascii"), password=_passphrase())
    except (ValueError, TypeError) as exc:
        raise RaUnavailable("the RA key cannot be decrypted: wrong CERTPORTAL_RA_KEY_PASSPHRASE?") from exc
    if not isinstance(key, rsa.RSAPrivateKey):
        raise RaUnavailable("the RA key must be an RSA key (SCEP key transport)")
    chain = tuple(authority.certificate for authority in ra.authority.chain())
    identity = RaIdentity(certificate=ra.certificate, key=key, ca_chain=chain)
    with _lock:
        _cache[cache_key] = identity
    return identity


@receiver(setting_changed)
def _reset(*, setting: str, **kwargs: object) -> None:
    if setting == "CERTPORTAL_RA_KEY_PASSPHRASE":
        with _lock:
            _cache.clear()
