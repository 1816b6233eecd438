"""CA private keys live only behind a key backend, chosen by alias in ``CERTPORTAL_KEY_BACKENDS``."""

from ca.key_backends.base import KeyBackend, KeyBackendUnavailable, key_backends

__all__ = ["KeyBackend", "KeyBackendUnavailable", "key_backends"]
