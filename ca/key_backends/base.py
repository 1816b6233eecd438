"""The key-backend interface and its registry.

A backend keeps CA private keys and signs with them: it creates a key and returns the reference stored on
the CA row (JSON) with the public key, and later signs, given that reference, a certificate, a CRL or raw
data. No method returns a private key: the object that signs stays inside the backend (``_signing_key``),
and a backend whose keys are in an HSM (``ca.key_backends.pkcs11``) never has the key material at all.

The two backends here keep PKCS#8 encrypted with the CA key passphrase (in the database, or in files) and
sign with the decrypted key in this process's memory.
"""

from __future__ import annotations

import hashlib
import json
import threading
from abc import ABC, abstractmethod
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.types import (
    CertificateIssuerPrivateKeyTypes,
    CertificateIssuerPublicKeyTypes,
)

from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.module_loading import import_string

from ca.conf import ca_settings
from ca.crypto.builders import hash_algorithm, named_hash
from ca.crypto.keys import KeySpec, generate_private_key
from core.exceptions import ApplicationError

__all__ = [
    "EncryptedPkcs8Backend",
    "KeyBackend",
    "KeyBackendError",
    "KeyBackendUnavailable",
    "KeyReference",
    "key_backends",
]

KeyReference = dict[str, Any]


class KeyBackendUnavailable(ApplicationError):
    """This process cannot use the CA key: no passphrase or PIN (not the CA worker), a wrong one, no key."""

    code = "key_backend_unavailable"
    http_status = 503


class KeyBackendError(ApplicationError):
    """A request the backend refuses for good: an option it does not know, a key label already taken."""

    code = "key_backend_error"
    http_status = 400


class KeyBackend(ABC):
    """Where CA keys live. Every signing operation with a CA key goes through one of these methods."""

    def __init__(self, alias: str, **options: Any) -> None:
        self.alias = alias
        self.options = options

    @abstractmethod
    def create_key(
        self, *, spec: KeySpec, name: str, token: str = "", label: str = ""
    ) -> tuple[CertificateIssuerPublicKeyTypes, KeyReference]:
        """Create a key for the CA called ``name``; return its public key and the reference to store.

        ``token`` and ``label`` choose where a PKCS#11 backend creates it (KeyBackendError elsewhere).
        """

    @abstractmethod
    def _signing_key(self, reference: KeyReference) -> CertificateIssuerPrivateKeyTypes:
        """The object that signs for ``reference``, for this module's signing methods only; raise
        KeyBackendUnavailable when this process cannot use it.
        """

    def public_key(self, reference: KeyReference) -> CertificateIssuerPublicKeyTypes:
        return self._signing_key(reference).public_key()

    def sign_certificate(
        self, reference: KeyReference, builder: x509.CertificateBuilder, *, signature_hash: str
    ) -> x509.Certificate:
        """Sign ``builder`` (its issuer already set) with the key of ``reference``."""
        key = self._signing_key(reference)
        return builder.sign(key, hash_algorithm(signature_hash, key))

    def sign_crl(
        self, reference: KeyReference, builder: x509.CertificateRevocationListBuilder, *, signature_hash: str
    ) -> x509.CertificateRevocationList:
        key = self._signing_key(reference)
        return builder.sign(key, hash_algorithm(signature_hash, key))

    def sign_data(self, reference: KeyReference, data: bytes, *, signature_hash: str = "sha256") -> bytes:
        """A signature over ``data``: PKCS#1 v1.5 for RSA, DER ECDSA for EC, EdDSA for Edwards keys."""
        key = self._signing_key(reference)
        if isinstance(key, rsa.RSAPrivateKey):
            return key.sign(data, padding.PKCS1v15(), named_hash(signature_hash))
        if isinstance(key, ec.EllipticCurvePrivateKey):
            return key.sign(data, ec.ECDSA(named_hash(signature_hash)))
        if isinstance(key, ed25519.Ed25519PrivateKey | ed448.Ed448PrivateKey):
            return key.sign(data)
        raise KeyBackendUnavailable(f"a key of type {type(key).__name__} cannot sign")

    def is_usable(self) -> bool:
        """Whether this process can use keys at all (the web tier, without the passphrase, cannot)."""
        return True

    def discard_key(self, reference: KeyReference) -> None:  # noqa: B027 - optional for backends
        """Remove a key created for a CA that was then not saved (creation failed half way)."""

    def close(self) -> None:  # noqa: B027 - optional for backends
        """Let go of what the backend holds open (sessions with a token); it reopens when used again."""


class EncryptedPkcs8Backend(KeyBackend):
    """Shared logic of the passphrase-encrypted PKCS#8 backends; decrypted keys are cached per process."""

    _cache: dict[str, CertificateIssuerPrivateKeyTypes]
    _lock: threading.Lock

    def __init__(self, alias: str, **options: Any) -> None:
        super().__init__(alias, **options)
        self._cache = {}
        self._lock = threading.Lock()

    @property
    def passphrase(self) -> bytes:
        value = ca_settings().CA_KEY_PASSPHRASE.get_secret_value()
        if not value:
            raise KeyBackendUnavailable(
                "this process has no CA key passphrase (CERTPORTAL_CA_KEY_PASSPHRASE); "
                "operations with a CA key run on the CA worker"
            )
        return value.encode("utf-8")

    def is_usable(self) -> bool:
        return bool(ca_settings().CA_KEY_PASSPHRASE.get_secret_value())

    def create_key(
        self, *, spec: KeySpec, name: str, token: str = "", label: str = ""
    ) -> tuple[CertificateIssuerPublicKeyTypes, KeyReference]:
        if token or label:
            raise KeyBackendError(
                f"key backend {self.alias!r} keeps encrypted PKCS#8; a token and a key label are "
                "options of a PKCS#11 backend"
            )
        key = generate_private_key(spec)
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(self.passphrase),
        )
        return key.public_key(), self.store(pem, name=name)

    def _signing_key(self, reference: KeyReference) -> CertificateIssuerPrivateKeyTypes:
        passphrase = self.passphrase
        cache_key = hashlib.sha256(json.dumps(reference, sort_keys=True).encode() + passphrase).hexdigest()
        with self._lock:
            cached = self._cache.get(cache_key)
        if cached is not None:
            return cached
        pem = self.retrieve(reference)
        try:
            key = serialization.load_pem_private_key(pem, password=passphrase)
        except (ValueError, TypeError) as exc:
            raise KeyBackendUnavailable(
                "the CA key cannot be decrypted: wrong CERTPORTAL_CA_KEY_PASSPHRASE?"
            ) from exc
        if not isinstance(
            key,
            rsa.RSAPrivateKey
            | ec.EllipticCurvePrivateKey
            | ed25519.Ed25519PrivateKey
            | ed448.Ed448PrivateKey,
        ):
            raise KeyBackendUnavailable(f"stored key of type {type(key).__name__} cannot sign certificates")
        with self._lock:
            self._cache[cache_key] = key
        return key

    @abstractmethod
    def store(self, pem: bytes, *, name: str) -> KeyReference:
        """Keep the encrypted PEM; return the reference."""

    @abstractmethod
    def retrieve(self, reference: KeyReference) -> bytes:
        """Return the encrypted PEM for ``reference``."""


class _Registry:
    """``key_backends["default"]``: backends built once from settings, rebuilt when settings change."""

    def __init__(self) -> None:
        self._backends: dict[str, KeyBackend] = {}
        self._lock = threading.Lock()

    def __getitem__(self, alias: str) -> KeyBackend:
        with self._lock:
            backend = self._backends.get(alias)
            if backend is None:
                config = ca_settings().KEY_BACKENDS.get(alias)
                if config is None:
                    raise KeyBackendUnavailable(f"no key backend {alias!r} in CERTPORTAL_KEY_BACKENDS")
                backend_class = import_string(config["BACKEND"])
                backend = backend_class(alias, **config.get("OPTIONS", {}))
                self._backends[alias] = backend
            return backend

    def reset(self) -> None:
        with self._lock:
            backends = list(self._backends.values())
            self._backends.clear()
        for backend in backends:
            backend.close()


key_backends = _Registry()


@receiver(setting_changed)
def _reset_on_setting_change(*, setting: str, **kwargs: Any) -> None:
    if setting in {"CERTPORTAL_KEY_BACKENDS", "CERTPORTAL_CA_KEY_PASSPHRASE", "CERTPORTAL_PKCS11_PIN"}:
        key_backends.reset()
