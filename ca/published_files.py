"""The last CRL and CA certificates the web tier served, kept as files to serve while the database is down.

Relying parties (VPN concentrators, RADIUS servers, Wi-Fi controllers) fetch the CRL at its distribution
point and the CA certificates at the AIA URL; if those answer 503 during a database outage, every
certificate check that needs a fresh CRL fails. So each download the web tier serves from the database is
also kept in ``CERTPORTAL_PUBLISHED_DIR`` (a local directory of each web process; nothing shared), and
while the database cannot be reached the download is answered from that copy: the CRL that was current
when the database went away, which stays valid until its nextUpdate.

A copy is written only when its content changed (compared in memory, then on disk), atomically (a
temporary file renamed over the old one), readable by its owner only. Names are the URL's own
(``crl/<slug>.crl``), and a slug is ``[-a-zA-Z0-9_]`` by the URL pattern; anything else is refused.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import tempfile
import threading
from pathlib import Path

from ca.conf import ca_settings

__all__ = ["published_copy_keep", "published_copy_read"]

logger = logging.getLogger(__name__)

_NAME = re.compile(r"^(crl|ca)/[-a-zA-Z0-9_]+(\.crl|\.crt|-chain\.pem)$")
_kept: dict[tuple[str, str], str] = {}  # (directory, name) -> SHA-256 of what is on disk
_lock = threading.Lock()


def _path(name: str) -> Path | None:
    directory = ca_settings().PUBLISHED_DIR
    if not directory:
        return None
    if not _NAME.match(name):
        raise ValueError(f"not a published file name: {name!r}")
    return Path(directory) / name


def published_copy_keep(name: str, body: bytes) -> None:
    """Keep ``body`` as the copy of ``name`` when it differs from the kept one. Never raises: a copy that
    cannot be written is logged, and the download it came from is served all the same.
    """
    path = _path(name)
    if path is None:
        return
    digest = hashlib.sha256(body).hexdigest()
    key = (str(path.parent.parent), name)
    with _lock:
        if _kept.get(key) == digest:
            return
    try:
        if not (path.exists() and hashlib.sha256(path.read_bytes()).hexdigest() == digest):
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
            try:
                with os.fdopen(handle, "wb") as file:
                    file.write(body)
                Path(temporary).replace(path)
            except BaseException:
                Path(temporary).unlink(missing_ok=True)
                raise
    except OSError as exc:
        logger.warning("could not keep a copy of %s in %s: %s", name, path.parent, exc)
        return
    with _lock:
        _kept[key] = digest


def published_copy_read(name: str) -> bytes | None:
    """The kept copy of ``name``, or None when there is none (or no directory is configured)."""
    path = _path(name)
    if path is None:
        return None
    try:
        return path.read_bytes()
    except OSError:
        return None
