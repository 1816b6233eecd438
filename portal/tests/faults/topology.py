"""The production topology on private services, for the fault suite.

A PostgreSQL cluster of the suite's own (``initdb`` + ``pg_ctl`` on a free port in a temporary directory,
run as the ``postgres`` user when the suite runs as root), a Redis of its own, and the processes of
docker-compose.yml: gunicorn with the repository's configuration (the RA, no CA key passphrase), a Celery
CA worker with a 2-process prefork pool (the only process with the CA key passphrase), the default worker
and beat. Every process is started and stopped by its own handle; a fault test may kill, stop and start
any of them and the services.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg2  # type: ignore[import-untyped]
import requests

from portal.env import BASE_DIR

__all__ = [
    "CA_PASSPHRASE",
    "CHALLENGE",
    "FaultTopology",
    "PrivatePostgres",
    "PrivateRedis",
    "Service",
    "free_port",
    "until",
]

CHALLENGE = "faults-static-challenge"
CA_PASSPHRASE = "faults-ca-key-passphrase"
RA_PASSPHRASE = "faults-ra-key-passphrase"
OCSP_PASSPHRASE = "faults-ocsp-key-passphrase"
SECRET_KEY = "faults-django-secret-key-not-for-production-0123456789"
PG_BIN = Path("/usr/lib/postgresql/15/bin")
START_TIMEOUT = 60.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def until(
    condition: Callable[[], object],
    what: str,
    timeout: float = 30.0,
    interval: float = 0.1,
    state: Callable[[], object] = lambda: "",
) -> object:
    """Poll ``condition`` until it returns something other than None/False (a deadline, no fixed sleep);
    ``state`` describes what was seen, for the failure message.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value is not None and value is not False:
            return value
        time.sleep(interval)
    raise AssertionError(f"{what}: not within {timeout} s; {state()}")


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _run(command: list[str]) -> None:
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, f"{command}: {result.stdout}{result.stderr}"


def _as_postgres(command: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: run its tools as the ``postgres`` user then."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *command]
    return command


@dataclass
class PrivatePostgres:
    """A PostgreSQL cluster of the suite's own, on a free port, that a test may stop and start."""

    directory: Path
    port: int = field(default_factory=free_port)
    database: str = "certportal"

    @property
    def data(self) -> Path:
        return self.directory / "data"

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{self.database}"

    def init(self) -> None:
        initdb = PG_BIN / "initdb"
        if not initdb.exists():
            raise FileNotFoundError(f"{initdb} (Debian's postgresql-15) is needed for the fault suite")
        self.directory.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.directory, "postgres", "postgres")
        _run(_as_postgres([str(initdb), "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8",
                           "--no-sync", "--no-instructions"]))  # fmt: skip
        self.start()
        conn = self.connect("postgres")
        try:
            conn.autocommit = True
            with conn.cursor() as cursor:
                cursor.execute(f'CREATE DATABASE "{self.database}"')
        finally:
            conn.close()

    def start(self) -> None:
        # fsync off: the suite stops the cluster cleanly (a fast shutdown writes everything); only speed.
        options = (
            f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c max_connections=200"
        )
        log = str(self.directory / "postgres.log")
        _run(
            _as_postgres(
                [str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-o", options, "-l", log, "-w", "start"]
            )
        )

    def stop(self, mode: str = "fast") -> None:
        if not (self.data / "postmaster.pid").exists():
            return
        command = _as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop"])
        subprocess.run(command, check=False, capture_output=True, timeout=90)

    def connect(self, database: str | None = None) -> Any:  # a psycopg2 connection (no stubs)
        return psycopg2.connect(
            host="127.0.0.1",
            port=self.port,
            user="postgres",
            dbname=database or self.database,
            connect_timeout=5,
        )


@dataclass
class PrivateRedis:
    """A Redis of the suite's own, on a free port; with AOF as docker-compose.yml runs it, or without."""

    directory: Path
    port: int = field(default_factory=free_port)
    appendonly: bool = True
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        persistence = (
            ["--appendonly", "yes", "--appendfsync", "everysec"]
            if self.appendonly
            else ["--appendonly", "no"]
        )
        self.process = subprocess.Popen(
            [shutil.which("redis-server") or "redis-server", "--bind", "127.0.0.1", "--port", str(self.port),
             "--save", "", *persistence, "--dir", str(self.directory)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        until(lambda: _port_open(self.port), "the private Redis", START_TIMEOUT, 0.05)

    def stop(self) -> None:
        """A clean stop (SIGTERM: Redis writes its AOF and exits)."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)
        until(lambda: not _port_open(self.port), "the private Redis gone", 10, 0.05)

    def flush(self) -> None:
        """Forget everything (a Redis that lost its data)."""
        subprocess.run(
            [shutil.which("redis-cli") or "redis-cli", "-p", str(self.port), "FLUSHALL"],
            check=True, capture_output=True, timeout=10,
        )  # fmt: skip


class AdoptedProcess:
    """A process this suite started indirectly (gunicorn's new master after USR2): signalled and watched
    by its pid, like a ``Popen`` (it is not our child, so there is no exit status to collect).
    """

    def __init__(self, pid: int) -> None:
        self.pid = pid

    def poll(self) -> int | None:
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return 0
        status = Path(f"/proc/{self.pid}/stat")
        return 0 if status.exists() and status.read_text().split()[2] == "Z" else None

    def wait(self, timeout: float | None = None) -> int:
        until(lambda: self.poll() is not None, f"process {self.pid} ended", timeout or 60.0, 0.05)
        return 0

    def send_signal(self, signum: int) -> None:
        try:
            os.kill(self.pid, signum)
        except ProcessLookupError:
            return

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


@dataclass
class Service:
    """One process of the topology: its command, its environment and a log per start."""

    name: str
    command: list[str]
    env: dict[str, str]
    directory: Path
    ready_marker: bytes | None = None
    popen: subprocess.Popen[bytes] | AdoptedProcess | None = None
    log: Path | None = None
    starts: int = 0
    group: int = 0  # the process group (session) of the last start

    @property
    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    @property
    def pid(self) -> int:
        assert self.popen is not None
        return self.popen.pid

    def start(self, extra_env: dict[str, str] | None = None) -> None:
        assert not self.running, f"{self.name} is already running"
        self.starts += 1
        self.log = self.directory / f"{self.name}-{self.starts}.log"
        with self.log.open("wb") as handle:
            self.popen = subprocess.Popen(
                self.command, cwd=BASE_DIR, env={**self.env, **(extra_env or {})}, stdout=handle,
                stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        self.group = self.popen.pid
        if (marker := self.ready_marker) is not None:
            until(
                lambda: marker in self.log_bytes() or not self.running,
                f"{self.name} ready", START_TIMEOUT, 0.1,
            )  # fmt: skip
            assert self.running, f"{self.name} exited:\n{self.log_text()[-4000:]}"

    def log_bytes(self) -> bytes:
        return self.log.read_bytes() if self.log is not None and self.log.exists() else b""

    def log_text(self) -> str:
        return self.log_bytes().decode("utf-8", "replace")

    def children(self) -> list[int]:
        """The process's direct children (a prefork pool's processes)."""
        path = Path(f"/proc/{self.pid}/task/{self.pid}/children")
        return [int(pid) for pid in path.read_text().split()] if path.exists() else []

    def signal(self, signum: int) -> None:
        assert self.popen is not None
        self.popen.send_signal(signum)

    def kill_child(self, pid: int) -> None:
        """SIGKILL to one of the process's children (a pool process), by its pid."""
        assert pid in self.children(), f"{pid} is not a child of {self.name}"
        os.kill(pid, signal.SIGKILL)

    def kill9(self) -> None:
        """SIGKILL to the process alone (its children are left to notice)."""
        self.signal(signal.SIGKILL)
        assert self.popen is not None
        self.popen.wait(timeout=10)

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM (a warm shutdown), then SIGKILL to the whole session if it does not end in ``timeout``."""
        if self.popen is None:
            return
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(timeout=timeout)
            except (subprocess.TimeoutExpired, AssertionError):
                self.popen.kill()
                self.popen.wait(timeout=10)
        self.reap_group()

    def reap_group(self) -> None:
        """SIGKILL whatever is left of the process's session (orphaned pool processes after a kill -9)."""
        if not self.group:
            return
        try:
            os.killpg(self.group, signal.SIGKILL)
        except ProcessLookupError:
            return


@dataclass
class FaultTopology:
    """The private services and the processes, started in the order compose starts them."""

    tmp: Path
    postgres: PrivatePostgres
    redis: PrivateRedis
    port: int = field(default_factory=free_port)
    web: Service = field(init=False)
    ca_worker: Service = field(init=False)
    worker: Service = field(init=False)
    beat: Service = field(init=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def scep_url(self) -> str:
        return f"{self.url}/scep/faults"

    def env(self) -> dict[str, str]:
        inherited = {
            name: value
            for name, value in os.environ.items()
            if not name.startswith(
                ("CERTPORTAL_", "DJANGO_", "CELERY_", "DATABASE_URL", "REDIS_URL", "GUNICORN_")
            )
        }
        return {
            **inherited,
            "DJANGO_SETTINGS_MODULE": "portal.settings.production",
            "DJANGO_SECRET_KEY": SECRET_KEY,
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
            "DJANGO_SECURE_SSL_REDIRECT": "false",
            "DJANGO_SECURE_COOKIES": "false",
            "DATABASE_URL": self.postgres.url,
            "REDIS_URL": self.redis.url,
            "CERTPORTAL_DATA_DIR": str(self.tmp / "data"),
            "CERTPORTAL_BASE_URL": self.url,
            # The suite measures faults, not the rate limits: one client address sends every request.
            "CERTPORTAL_SCEP_RATE_PER_CLIENT": "100000/min",
            "CERTPORTAL_SCEP_RATE_GLOBAL": "100000/min",
            "CERTPORTAL_SCEP_ISSUE_WAIT": "2",
            "CERTPORTAL_CA_HEARTBEAT_INTERVAL": "1",
            # A queued request nobody answered for 10 s is sent to the CA worker again (by a poll, or beat's
            # sweep); production's default is 120 s. The sweep itself runs every 60 s, as in production.
            "CERTPORTAL_REQUEST_REDISPATCH_AFTER": "10",
            "GUNICORN_LIMIT_REQUEST_LINE": "8190",
        }

    def build(self) -> None:
        env = self.env()
        python = sys.executable
        celery = [python, "-m", "celery", "-A", "portal"]
        gunicorn = shutil.which("gunicorn", path=str(Path(python).parent)) or "gunicorn"
        web_env = {
            **env,
            "CERTPORTAL_RA_KEY_PASSPHRASE": RA_PASSPHRASE,
            "CERTPORTAL_OCSP_KEY_PASSPHRASE": OCSP_PASSPHRASE,
        }
        self.web = Service(
            "web",
            [gunicorn, "-c", str(BASE_DIR / "portal" / "gunicorn.conf.py"),
             "--bind", f"127.0.0.1:{self.port}", "--workers", "2", "--pid", str(self.web_pidfile),
             "portal.wsgi"],
            web_env, self.tmp,
        )  # fmt: skip
        self.ca_worker = Service(
            "ca-worker",
            [*celery, "worker", "-Q", "ca", "-n", "ca@%h", "--concurrency", "2", "-P", "prefork",
             "--without-gossip", "--without-mingle", "-l", "INFO"],
            {**env, "CERTPORTAL_CA_KEY_PASSPHRASE": CA_PASSPHRASE}, self.tmp, ready_marker=b"ready.",
        )  # fmt: skip
        self.worker = Service(
            "worker",
            [*celery, "worker", "-Q", "default", "-n", "default@%h", "--concurrency", "1",
             "--without-gossip", "--without-mingle", "-l", "INFO"],
            web_env, self.tmp, ready_marker=b"ready.",
        )  # fmt: skip
        self.beat = Service(
            "beat",
            [*celery, "beat", "-l", "INFO", "-s", str(self.tmp / "celerybeat-schedule"), "--pidfile="],
            env, self.tmp, ready_marker=b"beat: Starting",
        )  # fmt: skip

    def bootstrap(self) -> None:
        """Migrate the private database and create the PKI (``portal.tests.faults.bootstrap``)."""
        env = {
            **self.env(),
            "CERTPORTAL_CA_KEY_PASSPHRASE": CA_PASSPHRASE,
            "CERTPORTAL_RA_KEY_PASSPHRASE": RA_PASSPHRASE,
            "CERTPORTAL_OCSP_KEY_PASSPHRASE": OCSP_PASSPHRASE,
            "CELERY_TASK_ALWAYS_EAGER": "true",  # the RA certificate is signed in this process
        }
        for command in (
            ["migrate", "--noinput", "-v", "0"],
            ["shell", "-c", f"from portal.tests.faults.bootstrap import run; run(challenge={CHALLENGE!r})"],
        ):
            result = subprocess.run(
                [sys.executable, "manage.py", *command], cwd=BASE_DIR, env=env, capture_output=True,
                text=True, timeout=300, check=False,
            )  # fmt: skip
            assert result.returncode == 0, result.stdout + result.stderr

    @property
    def web_pidfile(self) -> Path:
        return self.tmp / "web.pid"

    def reload_web(self) -> None:
        """gunicorn's zero-downtime restart: USR2 starts a new master on the same listening socket (it
        inherits the descriptor), then the old master gets SIGTERM and drains; the socket never closes, so
        no queued connection is reset. The new master is the web service from then on.
        """
        old = self.web.popen
        assert old is not None
        old.send_signal(signal.SIGUSR2)

        def new_master() -> int | None:
            # The new master writes the pidfile, or "<pidfile>.2" while the old one still runs (gunicorn 23+).
            for path in (self.web_pidfile, self.web_pidfile.with_name(self.web_pidfile.name + ".2")):
                try:
                    pid = int(path.read_text().strip() or 0)
                except (FileNotFoundError, ValueError):
                    continue
                if pid and pid != old.pid:
                    return pid
            return None

        pid = until(new_master, "gunicorn's new master", START_TIMEOUT, 0.05)
        assert isinstance(pid, int)
        children = Path(f"/proc/{pid}/task/{pid}/children")
        until(lambda: len(children.read_text().split()) >= 2, "the new master's workers", START_TIMEOUT, 0.05)
        old.terminate()
        old.wait(timeout=60)
        self.web.popen = AdoptedProcess(pid)

    def start_web(self) -> None:
        self.web.start()
        until(self._web_answers, "gunicorn answering", START_TIMEOUT, 0.1)

    def _web_answers(self) -> bool:
        if not self.web.running:
            raise AssertionError(f"gunicorn exited:\n{self.web.log_text()[-4000:]}")
        try:
            return requests.get(f"{self.url}/healthz", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    def readiness(self) -> requests.Response | None:
        try:
            return requests.get(f"{self.url}/readyz", timeout=5)
        except requests.RequestException:
            return None

    def wait_ready(self, timeout: float = START_TIMEOUT) -> None:
        """Until /readyz says 200: database, cache, broker, a CA worker that can sign."""

        def ready() -> bool:
            response = self.readiness()
            return response is not None and response.status_code == 200

        def state() -> str:
            response = self.readiness()
            return (
                f"/readyz: {response.status_code} {response.text[:1500]}"
                if response is not None
                else "no answer"
            )

        until(ready, "/readyz 200", timeout, 0.2, state)

    def ensure_healthy(self) -> None:
        """Bring back whatever a test left down, and wait until the topology is ready."""
        if not (self.postgres.data / "postmaster.pid").exists():
            self.postgres.start()
        if self.redis.process is None or self.redis.process.poll() is not None:
            self.redis.start()
        for service in (self.ca_worker, self.worker, self.beat):
            if not service.running:
                if service.popen is not None:
                    service.reap_group()
                service.start()
        if not self.web.running:
            self.start_web()
        self.wait_ready()

    def stop_all(self) -> None:
        for service in (self.beat, self.worker, self.ca_worker, self.web):
            if service.popen is not None:
                service.stop(timeout=20)
