"""A directory of PEM files for a TLS server (the portal's front door): written atomically, read by anyone.

Layout (certbot's file names, so that any TLS server's configuration reads it)::

    <directory>/current -> releases/<release>      (a relative symbolic link)
    <directory>/releases/<release>/privkey.pem     (the private key, PKCS#8, unencrypted, mode 0600)
                                   cert.pem        (the server certificate)
                                   chain.pem       (the issuing CAs up to, not including, the root)
                                   fullchain.pem   (cert.pem + chain.pem: what the server presents)

A new release is written and synced in a directory of its own, renamed into place, and ``current`` is
switched by renaming a new link over it: a reader (nginx on reload) sees the old four files or the new
four, never a key of one with the certificate of the other. The previous release is kept (the last one
served); older ones are removed. Writers take ``<directory>/.lock`` (``flock``), so that the command and
the renewal job do not write at once. Pure: no Django.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import os
import secrets
import shutil
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes

__all__ = ["TlsDirectory", "TlsDirectoryError"]

KEY_FILE = "privkey.pem"
CERTIFICATE_FILE = "cert.pem"
CHAIN_FILE = "chain.pem"
FULLCHAIN_FILE = "fullchain.pem"


class TlsDirectoryError(Exception):
    """The directory cannot be read or written (permissions, a broken layout)."""


@dataclass(frozen=True)
class TlsDirectory:
    path: Path

    @property
    def current(self) -> Path:
        """The served release (a link): ``current/fullchain.pem`` and ``current/privkey.pem``."""
        return self.path / "current"

    @property
    def releases(self) -> Path:
        return self.path / "releases"

    def current_certificate(self) -> x509.Certificate | None:
        """The certificate being served, or None when nothing was installed here yet.

        Raises:
            TlsDirectoryError: a certificate file that cannot be read or is not a PEM certificate.
        """
        path = self.current / CERTIFICATE_FILE
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise TlsDirectoryError(f"cannot read {path}: {exc}") from exc
        try:
            return x509.load_pem_x509_certificate(data)
        except ValueError as exc:
            raise TlsDirectoryError(f"{path} is not a PEM certificate: {exc}") from exc

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the writers' lock (blocking) for the duration of the block."""
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            handle = os.open(self.path / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise TlsDirectoryError(f"cannot write to {self.path}: {exc}") from exc
        try:
            fcntl.flock(handle, fcntl.LOCK_EX)
            yield
        finally:
            os.close(handle)  # releases the lock

    def install(
        self,
        *,
        key: CertificateIssuerPrivateKeyTypes,
        certificate: x509.Certificate,
        chain: Sequence[x509.Certificate],
    ) -> Path:
        """Write a new release and make it ``current``; return its directory. Call it holding ``locked()``.

        Raises:
            TlsDirectoryError: the files cannot be written, or the key is not the certificate's.
        """
        if key.public_key() != certificate.public_key():
            raise TlsDirectoryError("the private key does not belong to the certificate")
        key_pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        certificate_pem = certificate.public_bytes(serialization.Encoding.PEM)
        chain_pem = b"".join(ca.public_bytes(serialization.Encoding.PEM) for ca in chain)
        stamp = dt.datetime.now(tz=dt.UTC).strftime("%Y%m%dT%H%M%SZ")
        name = f"{stamp}-{certificate.serial_number:x}"[:48]
        previous = self._current_release()
        try:
            self.releases.mkdir(parents=True, exist_ok=True)
            self.releases.chmod(0o755)
            staging = self.releases / f".{name}.{secrets.token_hex(4)}.tmp"
            staging.mkdir(mode=0o700)
            _write(staging / KEY_FILE, key_pem, mode=0o600)
            _write(staging / CERTIFICATE_FILE, certificate_pem, mode=0o644)
            _write(staging / CHAIN_FILE, chain_pem, mode=0o644)
            _write(staging / FULLCHAIN_FILE, certificate_pem + chain_pem, mode=0o644)
            staging.chmod(0o755)  # the key file stays 0600
            release = self.releases / name
            staging.replace(release)
            _sync_directory(self.releases)
            link = self.path / f".current.{secrets.token_hex(4)}"
            link.symlink_to(Path("releases") / name)
            link.replace(self.current)  # atomic: the old link or the new one
            _sync_directory(self.path)
        except OSError as exc:
            raise TlsDirectoryError(f"cannot write the TLS files to {self.path}: {exc}") from exc
        self._prune(keep={name, previous})
        return release

    def _current_release(self) -> str:
        try:
            return self.current.readlink().name
        except OSError:
            return ""

    def _prune(self, *, keep: set[str]) -> None:
        """Remove releases other than ``keep`` and what an interrupted writer left (best effort)."""
        for entry in self.releases.iterdir():
            if entry.name not in keep:
                shutil.rmtree(entry, ignore_errors=True)
        for entry in self.path.glob(".current.*"):
            with contextlib.suppress(OSError):
                entry.unlink()


def _write(path: Path, data: bytes, *, mode: int) -> None:
    handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(handle, "wb") as stream:
        os.fchmod(stream.fileno(), mode)  # whatever the process umask
        stream.write(data)
        stream.flush()
        os.fsync(stream.fileno())


def _sync_directory(path: Path) -> None:
    handle = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)
