"""Environment access for settings (django-environ), and the embedded-default local secrets."""

from __future__ import annotations

import secrets
from pathlib import Path

import environ

__all__ = ["BASE_DIR", "env", "env_overrides", "local_secret"]

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()


def env_overrides(*names: str) -> dict[str, str]:
    """The settings among ``names`` that the environment sets, as raw strings.

    For the apps' typed settings (``<app>/conf.py``): their models hold the defaults and convert and
    validate the values, so the settings module passes on only what the operator set.
    """
    return {name: env.str(name) for name in names if env.str(name, default="")}


def local_secret(directory: Path, name: str, *, nbytes: int = 48) -> str:
    """Return a secret kept in ``directory/name``, generating it on first use.

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
        value = secrets.token_urlsafe(nbytes)
        path.touch(mode=0o600)
        path.write_text(value + "\n", encoding="ascii")
    return value
