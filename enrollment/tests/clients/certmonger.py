"""A private certmonger daemon for tests: no system D-Bus, its own state, its own socket.

What works here (certmonger 0.79.17, Debian 12), found by trying:

* ``certmonger -n -L -P <socket>``: stay in the foreground (``-n``), listen only on a private socket and
  connect to no bus (``-L``), the socket at a path we choose (``-P``). No ``dbus-run-session`` needed.
* ``getcert`` talks to that daemon when ``CERTMONGER_PVT_ADDRESS=unix:path=<socket>`` is set.
* The state goes where the environment says: ``CERTMONGER_REQUESTS_DIR``, ``CERTMONGER_CAS_DIR``,
  ``CERTMONGER_LOCAL_CA_DIR``, ``CERTMONGER_CONFIG_DIR``, ``CERTMONGER_TMPDIR`` and
  ``CERTMONGER_SYSTEM_LOCK_FILE``, so nothing under /var/lib/certmonger or /run is read or written.
* The socket lives in a short directory of its own: a Unix socket path has at most 107 bytes, and pytest's
  ``tmp_path`` can be longer.

How certmonger drives SCEP (``/usr/lib/certmonger/scep-submit``), seen in its ``-d 3`` log and the
server's event log: GetCACaps with ``message=0``, GetCACert, then PKIOperation by GET (even with
``POSTPKIOperation`` advertised). A CertRep FAILURE makes the helper exit 2 (CA_REJECTED, with failInfo's
text as ca-error), PENDING exit 1 (CA_WORKING). certmonger comes back to a CA_WORKING request after
604,800 s (a week; nothing configures it), or at once on ``getcert refresh``. Its poll does not send the
GetCertInitial (CertPoll) it built: the daemon passes a message set to the helper only once (its nonce
is then used), so the POLL helper exits 16 ("needs SCEP messages"), certmonger builds them again and, even
given them, scep-submit 0.79.17 sends the PKCSReq again: the same transactionID and CSR, a fresh nonce.
The server answers that retransmission from the stored transaction (PENDING again, or the approved
certificate; never a second one), which is how certmonger gets its certificate.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path

from ca.tests.pki import require_executable

__all__ = ["Certmonger", "libcurl_trusting", "wait_until"]

#: libcurl's compiled-in CA bundle (Debian's libcurl4, OpenSSL flavour); no environment variable moves it.
LIBCURL_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
#: States in which a request stays until something happens from outside.
SETTLED = frozenset({"MONITORING", "CA_REJECTED", "CA_UNREACHABLE", "CA_UNCONFIGURED", "CA_WORKING"})
TIMEOUT = 60.0


def wait_until(condition: Callable[[], bool], what: str, timeout: float = TIMEOUT) -> None:
    """Poll ``condition`` until it holds (a deadline, no fixed sleep)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not after {timeout} s")
        time.sleep(0.1)


def libcurl_trusting(command: list[str], cafile: Path, directory: Path) -> list[str]:
    """``command`` run where libcurl's default CA bundle also holds ``cafile``: in a private mount namespace
    (``unshare --mount``; a user namespace too when not root) in which a copy of the system bundle plus
    ``cafile`` is bind-mounted over :data:`LIBCURL_CA_BUNDLE`. The host's trust store is not touched, and
    only this process and its children see the addition.

    For clients whose HTTP requests go through libcurl with no CA of their own: strongSwan's curl fetcher
    never sets one, and certmonger's scep-submit passes ``-R`` to libcurl for GetCACaps and GetCACert but
    not for PKIOperation. libcurl reads no ``CURL_CA_BUNDLE``, ``SSL_CERT_FILE`` or ``SSL_CERT_DIR``.
    """
    unshare = require_executable("unshare")
    bundle = directory / "libcurl-ca-bundle.pem"
    system = LIBCURL_CA_BUNDLE.read_bytes() if LIBCURL_CA_BUNDLE.exists() else b""
    bundle.write_bytes(system + b"\n" + cafile.read_bytes())
    namespaces = ["--mount"] if os.geteuid() == 0 else ["--user", "--map-root-user", "--mount"]
    mount = 'mount --bind "$1" "$2" && shift 2 && exec "$@"'
    return [
        unshare, *namespaces, "--propagation", "private", "--",
        "sh", "-c", mount, "libcurl-trusting", str(bundle), str(LIBCURL_CA_BUNDLE), *command,
    ]  # fmt: skip


@dataclass
class Certmonger:
    """A running private certmonger, and ``getcert`` pointed at it."""

    directory: Path
    socket_directory: Path
    process: subprocess.Popen[bytes]
    env: dict[str, str] = field(repr=False)

    @classmethod
    def start(cls, directory: Path, *, trust: Path | None = None) -> Certmonger:
        """Start the daemon; with ``trust`` (a CA file) its helpers' libcurl trusts that CA for https
        (:func:`libcurl_trusting`).
        """
        daemon = require_executable("certmonger")
        require_executable("getcert")
        for name in ("requests", "cas", "local", "config", "tmp"):
            (directory / name).mkdir(parents=True)
        socket_directory = Path(tempfile.mkdtemp(prefix="certmonger-"))
        socket = socket_directory / "socket"
        env = {
            **os.environ,
            "CERTMONGER_REQUESTS_DIR": str(directory / "requests"),
            "CERTMONGER_CAS_DIR": str(directory / "cas"),
            "CERTMONGER_LOCAL_CA_DIR": str(directory / "local"),
            "CERTMONGER_CONFIG_DIR": str(directory / "config"),
            "CERTMONGER_TMPDIR": str(directory / "tmp"),
            "CERTMONGER_SYSTEM_LOCK_FILE": str(directory / "lock"),
            "CERTMONGER_PVT_ADDRESS": f"unix:path={socket}",
        }
        command = [daemon, "-n", "-L", "-P", str(socket), "-d", "3"]
        if trust is not None:
            command = libcurl_trusting(command, trust, directory)
        with (directory / "certmonger.log").open("wb") as log:
            process = subprocess.Popen(
                command,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        daemon_handle = cls(directory, socket_directory, process, env)
        deadline = time.monotonic() + TIMEOUT
        while not socket.exists():
            if process.poll() is not None or time.monotonic() > deadline:
                daemon_handle.stop()
                raise AssertionError(f"certmonger did not start: {daemon_handle.log()[-4000:]}")
            time.sleep(0.05)
        return daemon_handle

    def stop(self) -> None:
        """Stop this daemon (by its own process handle) and remove the socket directory."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=30)
        shutil.rmtree(self.socket_directory, ignore_errors=True)

    def log(self) -> str:
        return (self.directory / "certmonger.log").read_text(errors="replace")

    def getcert(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            ["getcert", *args], env=self.env, capture_output=True, text=True, timeout=TIMEOUT, check=False
        )
        if check and result.returncode != 0:
            raise AssertionError(f"getcert {' '.join(args)}: {result.stdout}{result.stderr}")
        return result

    def add_scep_ca(self, name: str, url: str, *, cafile: Path) -> None:
        """``getcert add-scep-ca``; certmonger fetches GetCACaps and GetCACert before it submits.

        ``cafile`` (``-R``, "web server's certificate") is the CA the https server's certificate must chain
        to: scep-submit hands it to libcurl as its CA bundle, and refuses an https URL without it.
        """
        self.getcert("add-scep-ca", "-c", name, "-u", url, "-R", str(cafile))

    def request(
        self,
        request_id: str,
        *,
        ca: str,
        subject: str,
        challenge: str,
        directory: Path,
        key: Path | None = None,
    ) -> tuple[Path, Path]:
        """``getcert request`` of a PEM key and certificate in ``directory``; returns their paths.

        Without ``key`` certmonger generates the key pair itself (RSA 2048).
        """
        key_file = key or directory / f"{request_id}.key"
        certificate_file = directory / f"{request_id}.pem"
        self.getcert(
            "request", "-c", ca, "-I", request_id, "-f", str(certificate_file), "-k", str(key_file),
            "-N", subject, "-L", challenge,
        )  # fmt: skip
        return key_file, certificate_file

    def status(self, request_id: str) -> dict[str, str]:
        """The fields of ``getcert list -i <id>`` (status, ca-error, subject, ...)."""
        fields: dict[str, str] = {}
        for line in self.getcert("list", "-i", request_id).stdout.splitlines():
            if line.startswith("\t") and ":" in line:
                name, _, value = line[1:].partition(":")
                fields.setdefault(name, value.strip())
        return fields

    def wait_for(
        self, request_id: str, states: Collection[str] = SETTLED, timeout: float = TIMEOUT
    ) -> dict[str, str]:
        """Poll ``getcert list`` until the request is in one of ``states`` (a deadline, no fixed sleep)."""
        deadline = time.monotonic() + timeout
        while True:
            fields = self.status(request_id)
            if _ca_certificates_not_fetched_yet(fields) and time.monotonic() < deadline:
                # ``add-scep-ca`` fetches GetCACaps/GetCACert in the background; a request submitted before
                # that finished has no RA certificate to encrypt to (seen on a busy machine): submit it again.
                time.sleep(0.5)
                self.getcert("resubmit", "-i", request_id)
                continue
            if fields.get("status") in states:
                return fields
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{request_id} is still {fields} after {timeout} s: {self.log()[-4000:]}"
                )
            time.sleep(0.1)


def _ca_certificates_not_fetched_yet(fields: dict[str, str]) -> bool:
    """certmonger's answer to a request submitted before its CA's GetCACert reply arrived."""
    return fields.get("status") == "CA_UNCONFIGURED" and "No RA certificate" in fields.get("ca-error", "")
