"""The production front door in tests: Debian's nginx with the repository's configuration
(deploy/nginx/certportal.conf.template) on free ports of 127.0.0.1, in front of a test server, serving a
TLS server certificate that one of our CAs issued.

    files = tls_files_issue(authority=pki.issuing, directory=tmp_path / "tls")
    with nginx_front_door(upstream="127.0.0.1:8000", tls=files, directory=tmp_path / "nginx") as door:
        door.https_url     # https://127.0.0.1:<port>: everything
        door.http_url      # http://127.0.0.1:<port>: SCEP, CRLs, CA certificates, OCSP (the rest: 301)
        door.cafile        # our CA chain (PEM): what clients verify the server certificate with

The template is rendered as the nginx image renders it in docker-compose.yml (envsubst of the ``NGINX_*``
variables only, so nginx's own ``$host`` stays), and every placeholder must get a value: one left over, or
a value for a placeholder the template does not have, is an error here, not a silently different server.
It goes into a minimal main configuration whose pid file, logs and temporary directories are all under
``directory``; nginx runs in the foreground (``daemon off``) as a child of the test, which stops it by
its own process handle. When nginx does not come up, or the block raises, nginx's error log is part of
the failure.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from cryptography.hazmat.primitives import serialization

from django.db import transaction

from ca.models import CertificateAuthority
from ca.services.server_certificates import ServerNames, server_certificate_issue
from ca.tests.ocsp import dispatch_at_once
from ca.tests.pki import require_executable
from ca.tls_directory import TlsDirectory

__all__ = [
    "NGINX_TEMPLATE",
    "TEST_SERVER_NAMES",
    "NginxFrontDoor",
    "TlsFiles",
    "nginx_executable",
    "nginx_front_door",
    "render_nginx_template",
    "tls_files_for",
    "tls_files_issue",
]

#: The repository root (enrollment/tests/front_door.py is two levels below it; enrollment imports no portal).
BASE_DIR = Path(__file__).resolve().parents[2]
NGINX_TEMPLATE = BASE_DIR / "deploy" / "nginx" / "certportal.conf.template"
#: Where Debian installs nginx (/usr/sbin is not on every user's PATH).
DEBIAN_NGINX = "/usr/sbin/nginx"
READY_TIMEOUT = 30.0
#: A public name, an internal one and the address the tests connect to (clients check the IP SAN).
TEST_SERVER_NAMES = ServerNames.parse(
    common_name="portal.certportal.test", dns_names=["localhost"], ip_addresses=["127.0.0.1"]
)
#: What envsubst substitutes with NGINX_ENVSUBST_FILTER=^NGINX_: ``${NGINX_X}`` and ``$NGINX_X``.
_PLACEHOLDER = re.compile(r"\$(?:\{(NGINX_[A-Za-z0-9_]*)\}|(NGINX_[A-Za-z0-9_]*))")


def nginx_executable() -> str:
    """nginx on PATH, or Debian's /usr/sbin/nginx; skip when missing, except in CI (CI=true): fail."""
    return shutil.which("nginx") or require_executable(DEBIAN_NGINX)


def render_nginx_template(template: str, values: Mapping[str, str]) -> str:
    """``template`` with each ``NGINX_*`` placeholder replaced by its value (nothing else touched).

    Raises:
        ValueError: a placeholder without a value, or a value for a placeholder the template lacks.
    """
    wanted = {braced or bare for braced, bare in _PLACEHOLDER.findall(template)}
    missing, unused = sorted(wanted - values.keys()), sorted(values.keys() - wanted)
    if missing or unused:
        raise ValueError(f"nginx template placeholders without a value: {missing}; values unused: {unused}")
    return _PLACEHOLDER.sub(lambda match: values[match.group(1) or match.group(2)], template)


@dataclass(frozen=True)
class TlsFiles:
    """A TLS directory as ``manage.py tls_certificate`` writes it, and the CA chain that verifies it."""

    directory: TlsDirectory
    cafile: Path


def tls_files_for(*, authority: CertificateAuthority, directory: Path) -> TlsFiles:
    """A TLS directory already written (``manage.py tls_certificate --dir``) for a certificate of
    ``authority``; the CA file is the authority and the CAs above it, up to the root, in one PEM file.
    """
    cafile = directory / "ca-chain.pem"
    cafile.write_bytes(
        b"".join(ca.certificate.public_bytes(serialization.Encoding.PEM) for ca in authority.chain())
    )
    return TlsFiles(directory=TlsDirectory(directory), cafile=cafile)


def tls_files_issue(
    *,
    authority: CertificateAuthority,
    directory: Path,
    names: ServerNames = TEST_SERVER_NAMES,
    keep_records: bool = True,
) -> TlsFiles:
    """A TLS server certificate from ``authority`` through the real service (``server_certificate_issue``,
    the ``WebServer`` template, the CA task run in process), installed in ``directory``.

    ``keep_records=True`` needs a test whose transactions commit (``transactional_db``, ``live_server``):
    the request reaches the CA task on commit. With ``keep_records=False`` the issuance runs in a
    transaction that is rolled back, its request handed to the task at once: the files stay, and the CA's
    tables are as before (for tests that count what their devices were issued).
    """
    tls = TlsDirectory(directory)
    if keep_records:
        server_certificate_issue(authority=authority, names=names, directory=tls, wait=30.0)
    else:
        with pytest.MonkeyPatch.context() as patch, transaction.atomic():
            dispatch_at_once(patch)  # inside this transaction on_commit never fires
            server_certificate_issue(authority=authority, names=names, directory=tls, wait=30.0)
            transaction.set_rollback(True)
    return tls_files_for(authority=authority, directory=directory)


@dataclass(frozen=True)
class NginxFrontDoor:
    https_url: str
    http_url: str
    cafile: Path
    https_port: int
    http_port: int
    directory: Path

    @property
    def error_log(self) -> Path:
        return self.directory / "error.log"

    @property
    def access_log(self) -> Path:
        return self.directory / "access.log"

    def logs(self) -> str:
        """The tail of nginx's error log and of its output, for failure messages."""
        parts = []
        for path in (self.error_log, self.directory / "nginx.out"):
            text = path.read_text(errors="replace") if path.exists() else "(none)"
            parts.append(f"--- {path.name} ---\n{text[-4000:]}")
        return "\n".join(parts)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _main_config(directory: Path, site: Path) -> str:
    # Workers of a root master run as "nobody" unless told otherwise, and could not reach pytest's 0700
    # temporary directories (the request body and proxy buffers spill there).
    user = "user root root;\n" if os.geteuid() == 0 else ""
    return (
        f"daemon off;\n{user}worker_processes 1;\n"
        f"pid {directory / 'nginx.pid'};\n"
        f"error_log {directory / 'error.log'} info;\n"
        "events { worker_connections 256; }\n"
        "http {\n"
        "    default_type application/octet-stream;\n"
        f"    access_log {directory / 'access.log'};\n"
        f"    client_body_temp_path {directory / 'client_body'};\n"
        f"    proxy_temp_path {directory / 'proxy'};\n"
        f"    fastcgi_temp_path {directory / 'fastcgi'};\n"
        f"    uwsgi_temp_path {directory / 'uwsgi'};\n"
        f"    scgi_temp_path {directory / 'scgi'};\n"
        f"    include {site};\n"
        "}\n"
    )


@contextlib.contextmanager
def nginx_front_door(
    *,
    upstream: str,
    tls: TlsFiles,
    directory: Path,
    server_names: ServerNames = TEST_SERVER_NAMES,
    http_redirect: bool = True,
    scep_max_body_size: int = 262144,
) -> Iterator[NginxFrontDoor]:
    """nginx with the repository's configuration in front of ``upstream`` (``host:port``), serving ``tls``.

    ``server_names`` is NGINX_SERVER_NAME: the public name first (the redirects go to it), then the others.
    """
    executable = nginx_executable()
    directory.mkdir(parents=True, exist_ok=True)
    https_port, http_port = _free_port(), _free_port()
    site = directory / "certportal.conf"
    site.write_text(
        render_nginx_template(
            NGINX_TEMPLATE.read_text(encoding="utf-8"),
            {
                "NGINX_SERVER_NAME": " ".join(
                    [server_names.common_name, *server_names.dns_names, *map(str, server_names.ip_addresses)]
                ),
                "NGINX_HTTPS_LISTEN": f"127.0.0.1:{https_port}",
                "NGINX_HTTPS_PORT": str(https_port),
                "NGINX_HTTP_LISTEN": f"127.0.0.1:{http_port}",
                "NGINX_HTTP_REDIRECT": "on" if http_redirect else "off",
                "NGINX_UPSTREAM": upstream,
                "NGINX_TLS_DIR": str(tls.directory.path),
                "NGINX_SCEP_MAX_BODY_SIZE": str(scep_max_body_size),
            },
        ),
        encoding="utf-8",
    )
    config = directory / "nginx.conf"
    config.write_text(_main_config(directory, site), encoding="utf-8")
    door = NginxFrontDoor(
        https_url=f"https://127.0.0.1:{https_port}",
        http_url=f"http://127.0.0.1:{http_port}",
        cafile=tls.cafile,
        https_port=https_port,
        http_port=http_port,
        directory=directory,
    )
    # -e: the error log before the configuration is read (else /var/log/nginx/error.log); -p: the prefix.
    command = [executable, "-p", str(directory), "-e", str(door.error_log), "-c", str(config)]
    with (directory / "nginx.out").open("wb") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, cwd=directory)
    try:
        deadline = time.monotonic() + READY_TIMEOUT
        while not (_listening(https_port) and _listening(http_port)):
            if process.poll() is not None:
                raise AssertionError(f"nginx exited with {process.returncode}:\n{door.logs()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"nginx did not listen within {READY_TIMEOUT} s:\n{door.logs()}")
            time.sleep(0.05)
        try:
            yield door
        except BaseException as exc:
            exc.add_note(f"nginx front door logs:\n{door.logs()}")
            raise
    finally:
        if process.poll() is None:
            process.terminate()  # SIGTERM: nginx's fast shutdown
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
