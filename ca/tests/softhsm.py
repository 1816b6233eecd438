"""SoftHSM2 for the PKCS#11 key backend's tests: a private token in a temporary directory.

``softhsm`` (session) writes a SOFTHSM2_CONF of its own, points this process at it and initialises one
token with ``softhsm2-util --init-token --free``. ``pkcs11_backend`` (per test) adds the ``pkcs11`` alias to
``CERTPORTAL_KEY_BACKENDS`` with that token and the PIN, and empties the token after the test (the database
rolls back; the token does not). Without softhsm2 the tests skip, and fail in CI (``require_executable``).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pkcs11
import pytest
from pkcs11 import exceptions as p11

from ca.key_backends import key_backends
from ca.tests.pki import require_executable

__all__ = ["SoftHsm", "pkcs11_backend", "softhsm", "token_session"]

MODULE_CANDIDATES = ("/usr/lib/softhsm/libsofthsm2.so", "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so")
TOKEN_LABEL = "certportal-test"
USER_PIN = "246810"
SO_PIN = "13579111"


@dataclass(frozen=True)
class SoftHsm:
    module: str
    token: str
    pin: str

    @property
    def backend_config(self) -> dict[str, Any]:
        return {
            "BACKEND": "ca.key_backends.pkcs11.Pkcs11KeyBackend",
            "OPTIONS": {"module": self.module, "token": self.token},
        }


@pytest.fixture(scope="session")
def softhsm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SoftHsm]:
    util = require_executable("softhsm2-util")
    module = next((path for path in MODULE_CANDIDATES if Path(path).exists()), None)
    if module is None:
        reason = f"softhsm2-util is there but not its PKCS#11 module ({', '.join(MODULE_CANDIDATES)})"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{reason}; CI must provide it")
        pytest.skip(reason)
    directory = tmp_path_factory.mktemp("softhsm")
    (directory / "tokens").mkdir(mode=0o700)
    conf = directory / "softhsm2.conf"
    conf.write_text(
        f"directories.tokendir = {directory / 'tokens'}\nobjectstore.backend = file\nlog.level = ERROR\n"
    )
    previous = os.environ.get("SOFTHSM2_CONF")
    os.environ["SOFTHSM2_CONF"] = str(conf)
    subprocess.run(
        [util, "--init-token", "--free", "--label", TOKEN_LABEL, "--pin", USER_PIN, "--so-pin", SO_PIN],
        check=True,
        capture_output=True,
        timeout=60,
    )
    lib = pkcs11.lib(module)
    lib.reinitialize()  # see the token just made, whatever this process loaded before
    yield SoftHsm(module=module, token=TOKEN_LABEL, pin=USER_PIN)
    key_backends.reset()
    if previous is None:
        os.environ.pop("SOFTHSM2_CONF", None)
    else:
        os.environ["SOFTHSM2_CONF"] = previous


@contextmanager
def token_session(hsm: SoftHsm) -> Iterator[pkcs11.Session]:
    """A logged-in session of the test's own (as an operator's tool would open), beside the backend's."""
    token = pkcs11.lib(hsm.module).get_token(token_label=hsm.token)
    try:
        session = token.open(rw=True, user_pin=hsm.pin)
    except p11.UserAlreadyLoggedIn:  # the backend's session logged this process in
        session = token.open(rw=True)
    try:
        yield session
    finally:
        session.close()


@pytest.fixture
def pkcs11_backend(softhsm: SoftHsm, settings: Any) -> Iterator[SoftHsm]:
    """The ``pkcs11`` key backend on the session's token, with its PIN; the token emptied afterwards."""
    settings.CERTPORTAL_KEY_BACKENDS = {**settings.CERTPORTAL_KEY_BACKENDS, "pkcs11": softhsm.backend_config}
    settings.CERTPORTAL_PKCS11_PIN = softhsm.pin
    yield softhsm
    key_backends.reset()
    with token_session(softhsm) as session:
        for obj in list(session.get_objects()):
            obj.destroy()
