"""CA keys encrypted (PKCS#8, passphrase) in files under OPTIONS["directory"], mode 0600."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from ca.key_backends.base import EncryptedPkcs8Backend, KeyBackendUnavailable, KeyReference

__all__ = ["FileKeyBackend"]


class FileKeyBackend(EncryptedPkcs8Backend):
    def __init__(self, alias: str, **options: Any) -> None:
        super().__init__(alias, **options)
        self.directory = Path(options["directory"])

    def store(self, pem: bytes, *, name: str) -> KeyReference:
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        stem = re.sub(r"[^A-Za-z0-9_.-]", "_", name) or "ca"
        path = self.directory / f"{stem}.key.pem"
        counter = 1
        while path.exists():
            counter += 1
            path = self.directory / f"{stem}-{counter}.key.pem"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
        return {"path": path.name}

    def retrieve(self, reference: KeyReference) -> bytes:
        name = Path(str(reference.get("path", ""))).name
        try:
            return (self.directory / name).read_bytes()
        except (OSError, KeyError) as exc:
            raise KeyBackendUnavailable(f"CA key file {name!r} is not readable in {self.directory}") from exc

    def discard_key(self, reference: KeyReference) -> None:
        name = Path(str(reference.get("path", ""))).name
        if name:
            (self.directory / name).unlink(missing_ok=True)
