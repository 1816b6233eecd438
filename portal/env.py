"""Environment access for settings (django-environ), and the embedded-default local secrets."""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path

import environ

from django.core.exceptions import ImproperlyConfigured

__all__ = [
    "BASE_DIR",
    "data_dir_make_private",
    "env",
    "env_overrides",
    "local_secret",
    "serve_address",
    "serve_base_url",
    "serve_host_name",
]

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()


def env_overrides(*names: str) -> dict[str, str]:
    """The settings among ``names`` that the environment sets, as raw strings.

    For the apps' typed settings (``<app>/conf.py``): their models hold the defaults and convert and
    validate the values, so the settings module passes on only what the operator set.
    """
    return {name: env.str(name) for name in names if env.str(name, default="")}


#: Addresses that mean "every interface": a client on this machine reaches them at the loopback.
_WILDCARD_HOSTS = frozenset({"", "0.0.0.0", "::"})  # noqa: S104 - recognised, not bound


def serve_address() -> tuple[str, int]:
    """Where ``./dev serve`` listens: ``HOST`` (default 127.0.0.1) and ``PORT`` (default 8000)."""
    host = env.str("HOST", default="").strip() or "127.0.0.1"
    port = env.str("PORT", default="").strip() or "8000"
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ImproperlyConfigured(f"PORT must be a TCP port (1-65535), not {port!r}")
    return host, int(port)


def serve_host_name(host: str) -> str:
    """The name a client on this machine reaches ``host`` by (as in a URL and in ALLOWED_HOSTS): a wildcard
    address is the loopback, an IPv6 literal goes in brackets.
    """
    name = host.strip().strip("[]")
    if name in _WILDCARD_HOSTS:
        return "127.0.0.1"
    return f"[{name}]" if ":" in name else name


def serve_base_url(host: str, port: int) -> str:
    """The base URL of a server listening on ``host:port``, for a client on this machine."""
    return f"http://{serve_host_name(host)}:{port}"


def local_secret(directory: Path, name: str, *, nbytes: int = 48, initial: str | None = None) -> str:
    """Return a secret kept in ``directory/name``, generating it on first use (or storing ``initial``).

    Used only by the embedded default (no environment configured): the secret key and the key
    passphrases live in files readable by the owner only, so that a restart keeps them.
    """
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = directory / name
    try:
        value = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        value = ""
    if not value:
        value = initial or secrets.token_urlsafe(nbytes)
        path.touch(mode=0o600)
        path.write_text(value + "\n", encoding="ascii")
    return value


def data_dir_make_private(directory: Path) -> None:
    """Make the embedded default's data directory the owner's only, now and for what is created later.

    It holds the SQLite database (API tokens, sessions, the encrypted CA, RA and OCSP keys) and the
    generated secrets. The process umask becomes 0o077, so that every file created from now on is 0600
    and every directory 0700: the database, and the -wal and -shm files SQLite creates whenever it opens
    it. What an earlier start left readable to others is fixed (group and other bits removed; symbolic
    links are neither followed nor changed).
    """
    os.umask(0o077)
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    _owner_only(directory)
    for root, dirs, files in os.walk(directory):
        for name in (*dirs, *files):
            _owner_only(Path(root, name))


def _owner_only(path: Path) -> None:
    try:
        info = path.lstat()
        mode = stat.S_IMODE(info.st_mode)
        if stat.S_ISLNK(info.st_mode) or mode & 0o077 == 0:
            return
        path.chmod(mode & 0o700 | (0o700 if stat.S_ISDIR(info.st_mode) else 0o600))
    except (FileNotFoundError, PermissionError):  # gone meanwhile, or not ours: nothing we may change
        return
