"""CA keys encrypted (PKCS#8, passphrase) and stored in the CA's row: nothing to copy between hosts."""

from __future__ import annotations

from ca.key_backends.base import EncryptedPkcs8Backend, KeyBackendUnavailable, KeyReference

__all__ = ["DatabaseKeyBackend"]


class DatabaseKeyBackend(EncryptedPkcs8Backend):
    def store(self, pem: bytes, *, name: str) -> KeyReference:
        return {"encrypted_pkcs8": pem.decode("ascii")}

    def retrieve(self, reference: KeyReference) -> bytes:
        try:
            return str(reference["encrypted_pkcs8"]).encode("ascii")
        except KeyError as exc:
            raise KeyBackendUnavailable("this CA's key is not stored in the database backend") from exc
