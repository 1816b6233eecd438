"""Process supervision: servers in their own process group that die with the benchmark, checked commands,
free ports, readiness polling, a plain HTTP GET.
"""

from __future__ import annotations

import contextlib
import ctypes
import http.client
import os
import signal
import socket
import subprocess
import time
import urllib.parse
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.runtime import REPO, STOP, BenchError, log


def die_with_parent() -> None:  # runs in the child between fork and exec
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


@dataclass
class Managed:
    """A server process in its own process group, stopped (group included) on cleanup."""

    name: str
    popen: subprocess.Popen[bytes]
    log_path: Path

    @classmethod
    def start(
        cls, name: str, argv: Sequence[str], *, env: dict[str, str], log_path: Path, cwd: Path = REPO
    ) -> Managed:
        handle = log_path.open("ab")
        try:
            popen = subprocess.Popen(
                list(argv),
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=handle,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=die_with_parent,  # noqa: PLW1509 - only the main thread spawns
            )
        finally:
            handle.close()
        return cls(name, popen, log_path)

    def alive(self) -> bool:
        return self.popen.poll() is None

    def log_text(self, offset: int = 0, end: int | None = None) -> str:
        try:
            with self.log_path.open("rb") as handle:
                handle.seek(offset)
                data = handle.read() if end is None else handle.read(max(end - offset, 0))
        except FileNotFoundError:
            return ""
        return data.decode("utf-8", "replace")

    def log_size(self) -> int:
        try:
            return self.log_path.stat().st_size
        except FileNotFoundError:
            return 0

    def stop(self, timeout: float = 20.0) -> None:
        pid = self.popen.pid
        if self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                log(f"{self.name} (pid {pid}) did not stop in {timeout}s; killing its process group")
        # Whatever is left in the group (gunicorn workers, Celery pool processes) goes too.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=10)


def run_checked(
    argv: Sequence[str], *, env: dict[str, str], what: str, cwd: Path = REPO, timeout: float = 300
) -> str:
    result = subprocess.run(
        list(argv),
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    if result.returncode != 0:
        raise BenchError(
            f"{what} failed ({result.returncode}):\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        )
    return result.stdout


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(
    predicate: Callable[[], bool], what: str, *, timeout: float = 90.0, process: Managed | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if STOP.is_set():
            raise KeyboardInterrupt
        if process is not None and not process.alive():
            raise BenchError(
                f"{what}: process exited ({process.popen.returncode}); log:\n{process.log_text()[-4000:]}"
            )
        with contextlib.suppress(Exception):
            if predicate():
                return
        time.sleep(0.2)
    tail = process.log_text()[-4000:] if process is not None else ""
    raise BenchError(f"{what} did not become ready in {timeout}s\n{tail}")


def http_get(url: str, timeout: float = 5.0) -> tuple[int, bytes]:
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port or 80, timeout=timeout)
    try:
        conn.request("GET", parts.path + (f"?{parts.query}" if parts.query else ""))
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()
