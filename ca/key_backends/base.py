"""The key-backend interface and its registry.

A backend creates a CA key and later hands back an object that can sign, given the reference it
returned at creation (stored on the CA row as JSON). The two backends here keep PKCS#8 encrypted with
the CA key passphrase (in the database, or in files); a PKCS#11 backend would keep the key in the
HSM and return a reference to the object, and ``load_private_key`` would return a signer wrapping it.
"""

from __future__ import annotations

import hashlib
import json
import threading
from abc import ABC, abstractmethod
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes

from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.module_loading import import_string

from ca.conf import ca_settings
from ca.crypto.keys import KeySpec, generate_private_key
from core.exceptions import ApplicationError

__all__ = ["EncryptedPkcs8Backend", "KeyBackend", "KeyBackendUnavailable", "key_backends"]

KeyReference = dict[str, Any]


class KeyBackendUnavailable(ApplicationError):
    """This process cannot use the CA key: no passphrase (not the CA worker), wrong passphrase, no key."""

    code = "key_backend_unavailable"
    http_status = 503


class KeyBackend(ABC):
    def __init__(self, alias: str, **options: Any) -> None:
        self.alias = alias
        self.options = options

    @abstractmethod
    def create_private_key(
        self, *, spec: KeySpec, name: str
    ) -> tuple[CertificateIssuerPrivateKeyTypes, KeyReference]:
        """Create a key for the CA called ``name``; return it and the reference to store on the CA."""

    @abstractmethod
    def load_private_key(self, reference: KeyReference) -> CertificateIssuerPrivateKeyTypes:
        """Return a usable private key for ``reference``, or raise KeyBackendUnavailable."""

    def is_usable(self) -> bool:
        """Whether this process can use keys at all (the web tier, without the passphrase, cannot)."""
        return True

    def discard_private_key(self, reference: KeyReference) -> None:  # noqa: B027 - optional for backends
        """Remove a key created for a CA that was then not saved (creation failed half way)."""


class EncryptedPkcs8Backend(KeyBackend):
    """Shared logic of the passphrase-encrypted PKCS#8 backends; loaded keys are cached per process."""

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

    def create_private_key(
        self, *, spec: KeySpec, name: str
    ) -> tuple[CertificateIssuerPrivateKeyTypes, KeyReference]:
        key = generate_private_key(spec)
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(self.passphrase),
        )
        return key, self.store(pem, name=name)

    def load_private_key(self, reference: KeyReference) -> CertificateIssuerPrivateKeyTypes:
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
            self._backends.clear()


key_backends = _Registry()


@receiver(setting_changed)
def _reset_on_setting_change(*, setting: str, **kwargs: Any) -> None:
    if setting in {"CERTPORTAL_KEY_BACKENDS", "CERTPORTAL_CA_KEY_PASSPHRASE"}:
        key_backends.reset()
