"""``./dev serve`` honours PORT (and HOST) everywhere: the base URL follows them unless CERTPORTAL_BASE_URL is
set, so demo_setup prints commands for the port it serves on and the CAs put that port in the CRL and AIA
URLs of what they issue. Real processes: the settings in a fresh interpreter, ``./dev serve`` itself, and
micromdm's ``scepclient`` enrolling against it.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

from cryptography import x509
from cryptography.x509.oid import AuthorityInformationAccessOID

from ca.tests.pki import openssl, require_executable
from portal.env import BASE_DIR, serve_base_url, serve_host_name

READY_TIMEOUT = 120.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _clean_env(data_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of an embedded default of its own: nothing of the test run's configuration."""
    inherited = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("CERTPORTAL_", "DJANGO_", "CELERY_", "DATABASE_URL", "REDIS_URL"))
        and k not in {"HOST", "PORT"}
    }
    return {**inherited, "CERTPORTAL_DATA_DIR": str(data_dir), **extra}


def _settings(data_dir: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    code = (
        "import django; django.setup(); from django.conf import settings; from ca.conf import ca_settings; "
        "print(ca_settings().BASE_URL); print(','.join(settings.ALLOWED_HOSTS))"
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=BASE_DIR,
        env=_clean_env(data_dir, DJANGO_SETTINGS_MODULE="portal.settings.local", **extra),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


# --- the settings ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "name"),
    [
        ("127.0.0.1", "127.0.0.1"),
        ("pki.lan", "pki.lan"),
        ("0.0.0.0", "127.0.0.1"),  # noqa: S104 - a wildcard address is reached at the loopback
        ("::", "127.0.0.1"),
        ("::1", "[::1]"),
        ("[::1]", "[::1]"),
    ],
)
def test_serve_host_name(host, name):
    assert serve_host_name(host) == name
    assert serve_base_url(host, 8101) == f"http://{name}:8101"


def test_the_base_url_follows_port_and_host(tmp_path):
    default = _settings(tmp_path)
    on_port = _settings(tmp_path, PORT="8101")
    on_host = _settings(tmp_path, PORT="8102", HOST="pki.lan")
    explicit = _settings(tmp_path, PORT="8101", CERTPORTAL_BASE_URL="https://pki.example")

    assert default.stdout.splitlines() == ["http://127.0.0.1:8000", "127.0.0.1,localhost"], default.stderr
    assert on_port.stdout.splitlines() == ["http://127.0.0.1:8101", "127.0.0.1,localhost"], on_port.stderr
    assert on_host.stdout.splitlines() == ["http://pki.lan:8102", "127.0.0.1,localhost,pki.lan"]
    assert explicit.stdout.splitlines()[0] == "https://pki.example"


def test_a_port_that_is_not_one_stops_the_settings(tmp_path):
    result = _settings(tmp_path, PORT="80a")
    assert result.returncode != 0
    assert "ImproperlyConfigured: PORT must be a TCP port (1-65535), not '80a'" in result.stderr


# --- ./dev serve, for real ------------------------------------------------------------------------------


def _require_ready_venv() -> None:
    """``./dev`` installs the requirements first when its stamp is stale: that needs the network."""
    import hashlib  # noqa: PLC0415 - only this check needs it

    stamp = BASE_DIR / ".venv" / ".requirements.sha256"
    want = hashlib.sha256(
        (BASE_DIR / "requirements.txt").read_bytes() + (BASE_DIR / "requirements-dev.txt").read_bytes()
    ).hexdigest()
    if not stamp.exists() or stamp.read_text().strip() != want:
        pytest.skip("the virtualenv's requirements stamp is stale: ./dev serve would install packages")


@contextmanager
def dev_serve(data_dir: Path, port: int, log: Path) -> Iterator[str]:
    """Run ``PORT=<port> ./dev serve`` with a data directory of its own; yield its output so far."""
    handle = log.open("wb")
    process = subprocess.Popen(
        [str(BASE_DIR / "dev"), "serve"],
        cwd=BASE_DIR,
        env=_clean_env(data_dir, PORT=str(port)),
        stdout=handle,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: gunicorn and its workers stop with it
    )
    try:
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline and process.poll() is None:
            try:
                if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                time.sleep(0.5)
        else:
            raise AssertionError(f"./dev serve did not come up:\n{log.read_text(errors='replace')[-4000:]}")
        yield log.read_text(errors="replace")
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        handle.close()


def _enroll(url: str, directory: Path, challenge: str) -> x509.Certificate:
    directory.mkdir()
    openssl("genrsa", "-traditional", "-out", str(directory / "key.pem"), "2048")
    result = subprocess.run(
        [
            require_executable("scepclient"),
            "-server-url", url,
            "-private-key", str(directory / "key.pem"),
            "-certificate", str(directory / "cert.pem"),
            "-challenge", challenge,
            "-cn", directory.name,
        ],
        capture_output=True, text=True, timeout=60, check=False, cwd=directory,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    return x509.load_pem_x509_certificate((directory / "cert.pem").read_bytes())


def _urls(certificate: x509.Certificate) -> list[str]:
    points = certificate.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    access = certificate.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    return [
        *(str(name.value) for point in points for name in point.full_name or ()),
        *(
            str(item.access_location.value)
            for item in access
            if item.access_method
            in {AuthorityInformationAccessOID.CA_ISSUERS, AuthorityInformationAccessOID.OCSP}
        ),
    ]


@pytest.mark.external
def test_dev_serve_on_another_port_prints_and_issues_that_port(tmp_path):
    require_executable("scepclient")
    _require_ready_venv()
    data_dir = tmp_path / "data"
    first_port, second_port = _free_port(), _free_port()
    base = f"http://127.0.0.1:{first_port}"

    with dev_serve(data_dir, first_port, tmp_path / "first.log") as output:
        challenge = (data_dir / "secrets" / "demo_scep_challenge").read_text().strip()
        certificate = _enroll(f"{base}/scep/demo", tmp_path / "dev1", challenge)
        crl = requests.get(_urls(certificate)[0], timeout=10)

    printed = [line for line in output.splitlines() if "http://" in line]
    assert f"  Portal:          {base}/   (admin: {base}/admin/, API docs: {base}/api/docs/)" in printed
    assert f"  SCEP URL:        {base}/scep/demo   (also {base}/certsrv/mscep/mscep.dll)" in printed
    assert f"    scepclient -server-url {base}/scep/demo -private-key /tmp/dev1/key.pem \\" in printed
    assert f"Serving on {base}/ (Ctrl-C stops)" in printed
    assert not [line for line in printed if ":8000" in line]
    assert _urls(certificate) == [
        f"{base}/crl/demo-issuing.crl",
        f"{base}/ocsp/demo-issuing",
        f"{base}/ca/demo-issuing.crt",
    ]
    assert crl.status_code == 200
    assert x509.load_der_x509_crl(crl.content).issuer == certificate.issuer

    # The same data directory served on another port: the demo CAs follow, for what they issue from now on.
    moved = f"http://127.0.0.1:{second_port}"
    with dev_serve(data_dir, second_port, tmp_path / "second.log") as output:
        again = _enroll(f"{moved}/scep/demo", tmp_path / "dev2", challenge)

    assert (
        f"demo-issuing: CRL, AIA and OCSP URLs moved to {moved} (were {base}/crl/demo-issuing.crl, " in output
    )
    assert f"  SCEP URL:        {moved}/scep/demo   (also {moved}/certsrv/mscep/mscep.dll)" in output
    assert _urls(again) == [
        f"{moved}/crl/demo-issuing.crl",
        f"{moved}/ocsp/demo-issuing",
        f"{moved}/ca/demo-issuing.crt",
    ]
