#!/usr/bin/env python3
"""SCEP enrollment benchmark: certportal (embedded default, production topology) vs micromdm scepserver.

Targets (each on 127.0.0.1 only, started and stopped by this script):

* ``embedded``   gunicorn -c portal/gunicorn.conf.py, SQLite in a temporary CERTPORTAL_DATA_DIR, Celery tasks
                 in process (the embedded default).
* ``production`` the same gunicorn (the RA, no CA key passphrase) + ``celery -A portal worker -Q <ca queue>``
                 (the only process with the CA key passphrase) on PostgreSQL + Redis: every certificate goes
                 through the ``ca`` queue and back.
* ``scepserver`` Debian's micromdm ``scepserver`` (a single Go process, file depot) in a private network
                 namespace (``unshare -n``); the client runs inside the same namespace.

Every enrollment is a fresh device: GetCACaps, GetCACert, then PKIOperation (PKCSReq, POST) with a CSR
for an RSA-2048 key generated before timing starts, signed by a self-signed certificate (RFC 8894 §2.3),
with a static challenge. Requests use AES-256-CBC and SHA-256 against every target; certportal answers
with the same, scepserver answers with single DES and SHA-1 (the client accepts legacy algorithms for
that target only).

Reported per target and concurrency: enrollments/s, p50/p95/p99 latency of the PKIOperation round trip
and of the whole enrollment, error counts by kind; GetCACaps requests/s; for certportal a server-side
breakdown of where the time goes (from gunicorn's access log, the Celery log and the database rows).
Results: a Markdown table on stdout, raw JSON in bench/results/<timestamp>.json.

Run with the project's virtualenv (the script re-executes itself with .venv/bin/python if needed):

    .venv/bin/python bench/scep_bench.py                   # N=200, concurrency 1 and 8, all targets
    .venv/bin/python bench/scep_bench.py -n 50 -c 1 4 8 --targets embedded scepserver
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
_VENV = REPO / ".venv"
if (
    (_VENV / "bin" / "python").exists()
    and Path(sys.prefix).resolve() != _VENV.resolve()
    and not os.environ.get("SCEP_BENCH_NO_REEXEC")
):
    os.execv(str(_VENV / "bin" / "python"), [str(_VENV / "bin" / "python"), *sys.argv])  # noqa: S606

import argparse  # noqa: E402
import contextlib  # noqa: E402
import ctypes  # noqa: E402
import datetime as dt  # noqa: E402
import http.client  # noqa: E402
import importlib  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import platform  # noqa: E402
import re  # noqa: E402
import secrets  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import sqlite3  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
import urllib.parse  # noqa: E402
from collections import Counter  # noqa: E402
from collections.abc import Callable, Sequence  # noqa: E402
from concurrent.futures import ProcessPoolExecutor  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from importlib import metadata  # noqa: E402
from typing import Any  # noqa: E402

sys.path.insert(0, str(REPO))

from cryptography import x509  # noqa: E402
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import padding, rsa  # noqa: E402
from cryptography.x509.oid import NameOID  # noqa: E402

from enrollment import scep  # noqa: E402  (the pure SCEP library: no Django)

PYTHON = sys.executable
GUNICORN = str(Path(PYTHON).parent / "gunicorn")
CELERY = str(Path(PYTHON).parent / "celery")
RESULTS_DIR = REPO / "bench" / "results"
PROFILE_DIR = RESULTS_DIR / "tmp"  # ignored by git
SERVICE_SLUG = "bench"
ISSUING_CA = "demo-issuing"
TEMPLATE = "CertportalDemo"
ACCESS_LOG_FORMAT = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %(D)s'
ACCESS_RE = re.compile(
    r'"(?P<method>[A-Z]+) (?P<path>\S+) HTTP/[^"]*" (?P<status>\d{3}) \S+ "[^"]*" "[^"]*" (?P<us>\d+)\s*$'
)
CELERY_DONE_RE = re.compile(r"Task ca\.tasks\.certificate_issue_task\[[^\]]+\] succeeded in ([0-9.eE+-]+)s")
SCEPSERVER_TOOK_RE = re.compile(
    r"endpoint\.go.*op=(?P<op>\w+).*took=(?P<took>[0-9.]+)(?P<unit>ns|µs|us|ms|s)\b"
)
PROBLEM_RE = re.compile(
    r"Traceback|\bERROR\b|CRITICAL|database is locked|deadlock detected|WORKER TIMEOUT|OperationalError"
    r"|IntegrityError|Worker exited|Internal Server Error|level=error|err=\""
)

STOP = threading.Event()


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


class BenchError(Exception):
    pass


# --- processes ----------------------------------------------------------------------------------------------


def _die_with_parent() -> None:  # runs in the child between fork and exec
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
                preexec_fn=_die_with_parent,  # noqa: PLW1509 - only the main thread spawns
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


# --- keys and requests --------------------------------------------------------------------------------------


def _generate_key_der(_: int) -> bytes:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def generate_keys(count: int) -> list[bytes]:
    workers = max(1, os.cpu_count() or 1)
    with ProcessPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(_generate_key_der, range(count), chunksize=8))


def load_key(der: bytes) -> rsa.RSAPrivateKey:
    key = serialization.load_der_private_key(der, password=None, unsafe_skip_rsa_key_validation=True)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise BenchError("expected an RSA key")
    return key


@dataclass
class Item:
    cn: str
    key: rsa.RSAPrivateKey
    csr: x509.CertificateSigningRequest
    csr_der: bytes
    signer: x509.Certificate


def prepare_items(keys: Sequence[bytes], prefix: str, challenge: str) -> list[Item]:
    items = []
    for index, der in enumerate(keys):
        key = load_key(der)
        cn = f"{prefix}{index:05d}"
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
        csr = scep.build_csr(key, subject, challenge_password=challenge)
        items.append(
            Item(
                cn,
                key,
                csr,
                csr.public_bytes(serialization.Encoding.DER),
                scep.self_signed_signer(key, subject),
            )
        )
    return items


# --- the workload -------------------------------------------------------------------------------------------


@dataclass
class Algorithms:
    cipher: scep.ContentCipher
    digest: scep.DigestAlgorithm
    allow_legacy_replies: bool

    @property
    def policy(self) -> scep.AlgorithmPolicy:
        return scep.AlgorithmPolicy(allow_legacy=self.allow_legacy_replies)


def enroll_one(url: str, item: Item, algorithms: Algorithms, timeout: float) -> dict[str, Any]:
    """One device: GetCACaps, GetCACert, PKIOperation (PKCSReq). Timings in ms, wall clock in epoch s."""
    record: dict[str, Any] = {"cn": item.cn, "outcome": "exception"}
    t0 = time.perf_counter()
    try:
        client = scep.ScepClient(url, timeout=timeout, policy=algorithms.policy)
        caps = client.get_ca_caps()
        t1 = time.perf_counter()
        if not caps:
            raise scep.ScepClientError("GetCACaps failed or returned nothing")
        certificates = client.get_ca_cert()
        t2 = time.perf_counter()
        upper = {keyword.upper() for keyword in caps}
        nonce = os.urandom(16)
        transaction_id = scep.transaction_id_for(item.key.public_key())
        request = scep.build_pki_message(
            message_type=scep.MessageType.PKCS_REQ,
            transaction_id=transaction_id,
            sender_nonce=nonce,
            message_data=item.csr_der,
            recipient_certificate=scep.select_recipient(certificates),
            signer_certificate=item.signer,
            signer_key=item.key,
            cipher=algorithms.cipher,
            digest=algorithms.digest,
        )
        t3 = time.perf_counter()
        record["wall_send"] = time.time()
        method = "POST" if upper & {"POSTPKIOPERATION", "SCEPSTANDARD"} else "GET"
        reply = client.pki_operation(request, method=method)
        t4 = time.perf_counter()
        record["wall_recv"] = time.time()
        result = scep.parse_cert_rep(
            reply,
            signer_key=item.key,
            signer_certificate=item.signer,
            expected_recipient_nonce=nonce,
            ra_certificate=certificates,
            expected_transaction_id=transaction_id,
            policy=algorithms.policy,
        )
        t5 = time.perf_counter()
        record.update(
            caps_ms=(t1 - t0) * 1000,
            cacert_ms=(t2 - t1) * 1000,
            build_ms=(t3 - t2) * 1000,
            pkiop_ms=(t4 - t3) * 1000,
            parse_ms=(t5 - t4) * 1000,
            total_ms=(t5 - t0) * 1000,
            method=method,
        )
        if result.status is scep.PkiStatus.SUCCESS and result.certificate is not None:
            cn = result.certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
            if not cn or cn[0].value != item.cn:
                record["outcome"] = "wrong_certificate"
                record["error"] = f"issued subject {result.certificate.subject.rfc4514_string()}"
            else:
                record["outcome"] = "success"
                record["serial"] = format(result.certificate.serial_number, "X")
                record["reply_cipher"] = result.cipher.display_name if result.cipher else None
                digest = result.message.digest_algorithm
                record["reply_digest"] = getattr(digest, "display_name", str(digest))
        elif result.status is scep.PkiStatus.PENDING:
            record["outcome"] = "pending"
        else:
            record["outcome"] = "failure"
            record["error"] = (
                f"failInfo {result.fail_info.name if result.fail_info else None}: {result.fail_info_text}"
            )
    except scep.ScepClientError as exc:
        record["outcome"] = "http_error"
        record["error"] = str(exc)[:300]
        match = re.search(r"HTTP (\d{3})", str(exc))
        record["http_status"] = int(match.group(1)) if match else None
    except Exception as exc:
        record["outcome"] = "exception"
        record["error"] = f"{type(exc).__name__}: {exc}"[:300]
    record.setdefault("total_ms", (time.perf_counter() - t0) * 1000)
    return record


def run_parallel(
    items: Sequence[Any], concurrency: int, fn: Callable[[Any], dict[str, Any]]
) -> tuple[list[dict[str, Any]], float]:
    """Run ``fn`` over ``items`` with ``concurrency`` threads; returns the records and the wall time in s."""
    results: list[dict[str, Any] | None] = [None] * len(items)
    lock = threading.Lock()
    next_index = [0]

    def worker() -> None:
        while not STOP.is_set():
            with lock:
                index = next_index[0]
                next_index[0] += 1
            if index >= len(items):
                return
            results[index] = fn(items[index])

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(concurrency)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        while thread.is_alive():
            thread.join(0.2)
    wall = time.perf_counter() - start
    if STOP.is_set():
        raise KeyboardInterrupt
    return [r for r in results if r is not None], wall


def caps_one(url: str, timeout: float) -> dict[str, Any]:
    parts = urllib.parse.urlsplit(url)
    path = parts.path + "?operation=GetCACaps"
    t0 = time.perf_counter()
    try:
        conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port or 80, timeout=timeout)
        try:
            conn.request("GET", path)
            response = conn.getresponse()
            body = response.read()
            status = response.status
        finally:
            conn.close()
        ok = status == 200 and bool(body.strip())
        return {"ok": ok, "status": status, "ms": (time.perf_counter() - t0) * 1000}
    except Exception as exc:
        return {
            "ok": False,
            "status": None,
            "error": f"{type(exc).__name__}: {exc}"[:200],
            "ms": (time.perf_counter() - t0) * 1000,
        }


# --- CPU accounting: how busy the machine was, and with what ------------------------------------------------

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _machine_busy_ticks() -> int:
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields
    return user + nice + system + irq + softirq + steal


def _processes() -> dict[int, tuple[int, int, str, int]]:
    """pid -> (session id, user+system CPU ticks, command name, start time) of every process."""
    out = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            raw = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        head, _, rest = raw.rpartition(")")
        fields = rest.split()
        name = head.split("(", 1)[1]
        if fields[1] in {"0", "2"}:  # kernel threads (their names change with the work they do)
            name = "[kernel threads]"
        out[int(entry.name)] = (int(fields[3]), int(fields[11]) + int(fields[12]), name, int(fields[19]))
    return out


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


class CpuMonitor:
    """CPU used during a run: by the whole machine, by the benchmark (this process, the target's processes
    and, for PostgreSQL, the backends of its database) and by everything else (other people's work on a
    shared machine). CPU of processes that exited during the run is missing from both of the last two.
    """

    def __init__(self, server_sessions: set[int], pg_db: str | None) -> None:
        self.sessions, self.pg_db = server_sessions, pg_db
        self.start = time.monotonic()
        self.busy = _machine_busy_ticks()
        self.processes = _processes()

    def _ours(self, pid: int, session: int, name: str) -> bool:
        if pid == os.getpid() or session in self.sessions:
            return True
        return bool(self.pg_db) and name == "postgres" and f" {self.pg_db} " in _cmdline(pid)

    def stop(self) -> dict[str, Any]:
        wall = max(time.monotonic() - self.start, 1e-6)
        busy = _machine_busy_ticks() - self.busy
        ours = client = 0
        others: Counter[str] = Counter()
        for pid, (session, ticks, name, started) in _processes().items():
            before = self.processes.get(pid)
            delta = ticks - before[1] if before is not None and before[3] == started else ticks
            if delta <= 0:
                continue
            if pid == os.getpid():
                client += delta
            if self._ours(pid, session, name):
                ours += delta
            else:
                label = (_cmdline(pid)[:80].strip() or name) if name.startswith("python") else name
                others[label] += delta

        def cores(ticks: float) -> float:
            return round(ticks / CLOCK_TICKS / wall, 2)

        return {
            "cores": os.cpu_count(),
            "machine_busy_cores": cores(busy),
            "benchmark_cores": cores(ours),
            "client_cores": cores(client),
            "other_processes_cores": cores(sum(others.values())),
            "other_top": [(name, cores(t)) for name, t in others.most_common(5)],
        }


# --- statistics ---------------------------------------------------------------------------------------------


def percentile(sorted_values: Sequence[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (numpy's default)."""
    if not sorted_values:
        return None
    position = (len(sorted_values) - 1) * q / 100
    low, high = math.floor(position), math.ceil(position)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (position - low)


def dist(values: Sequence[float]) -> dict[str, Any]:
    values = sorted(v for v in values if v is not None)
    if not values:
        return {"n": 0}
    return {
        "n": len(values),
        "mean": round(sum(values) / len(values), 3),
        "min": round(values[0], 3),
        "p50": round(percentile(values, 50), 3),  # type: ignore[arg-type]
        "p95": round(percentile(values, 95), 3),  # type: ignore[arg-type]
        "p99": round(percentile(values, 99), 3),  # type: ignore[arg-type]
        "max": round(values[-1], 3),
    }


def summarize_enrollments(records: list[dict[str, Any]], wall: float, concurrency: int) -> dict[str, Any]:
    ok = [r for r in records if r["outcome"] == "success"]
    outcomes = Counter(r["outcome"] for r in records)
    error_samples: dict[str, list[str]] = {}
    for record in records:
        if record["outcome"] != "success":
            samples = error_samples.setdefault(record["outcome"], [])
            text = record.get("error", "")
            if text not in samples and len(samples) < 5:
                samples.append(text)
    http_statuses = Counter(str(r.get("http_status")) for r in records if r["outcome"] == "http_error")
    algorithms = Counter(f"{r.get('reply_cipher')}/{r.get('reply_digest')}" for r in ok)
    serials = Counter(r["serial"] for r in ok)
    return {
        "concurrency": concurrency,
        "requested": len(records),
        "succeeded": len(ok),
        "errors": len(records) - len(ok),
        "outcomes": dict(outcomes),
        "http_statuses": dict(http_statuses),
        "error_samples": error_samples,
        "wall_s": round(wall, 3),
        "enrollments_per_s": round(len(ok) / wall, 2) if wall > 0 else None,
        "reply_algorithms": dict(algorithms),
        # Certificates whose serial number another certificate of this run also has (RFC 5280 4.1.2.2).
        "duplicate_serials": sum(count for count in serials.values() if count > 1),
        "serials": sorted(r["serial"] for r in ok),
        "latency_ms": {
            "pkioperation": dist([r["pkiop_ms"] for r in ok]),
            "enroll": dist([r["total_ms"] for r in ok]),
            "getcacaps": dist([r["caps_ms"] for r in ok]),
            "getcacert": dist([r["cacert_ms"] for r in ok]),
            "client_build": dist([r["build_ms"] for r in ok]),
            "client_parse": dist([r["parse_ms"] for r in ok]),
        },
        "raw_ms": {
            key: [round(r[key], 2) for r in ok]
            for key in ("pkiop_ms", "total_ms", "caps_ms", "cacert_ms", "build_ms", "parse_ms")
        },
    }


def summarize_caps(records: list[dict[str, Any]], wall: float, concurrency: int) -> dict[str, Any]:
    ok = [r for r in records if r["ok"]]
    return {
        "requests": len(records),
        "concurrency": concurrency,
        "succeeded": len(ok),
        "errors": len(records) - len(ok),
        "statuses": dict(Counter(str(r["status"]) for r in records)),
        "error_samples": sorted({r.get("error", "") for r in records if not r["ok"]})[:5],
        "wall_s": round(wall, 3),
        "requests_per_s": round(len(ok) / wall, 1) if wall > 0 else None,
        "latency_ms": dist([r["ms"] for r in ok]),
    }


# --- one target's workload ----------------------------------------------------------------------------------


@dataclass
class WorkloadSpec:
    label: str
    url: str
    challenge: str
    n: int
    concurrencies: list[int]
    warmup: int
    caps_requests: int
    caps_concurrency: int
    timeout: float
    cipher: str
    digest: str
    allow_legacy_replies: bool
    profile_n: int = 0
    profile_concurrency: int = 8


@dataclass
class Hooks:
    """What the caller does around each measured run (server-side data, profiling)."""

    before_run: Callable[[str], Any] = lambda phase: None
    after_run: Callable[[str, Any, list[dict[str, Any]]], dict[str, Any]] = lambda phase, token, records: {}
    start_profile: Callable[[], Any] = lambda: None
    stop_profile: Callable[[Any], dict[str, Any]] = lambda token: {}
    #: Sessions of the server processes (each is started in its own), for the CPU accounting.
    server_sessions: Callable[[], set[int]] = set
    #: PostgreSQL backends whose command line names this database count as the target's own.
    pg_db: str | None = None


def _serial_report(out: dict[str, Any]) -> dict[str, Any]:
    """Serial numbers of every certificate one target issued (warm-up and runs): each must be unique."""
    runs = [out.get("warmup", {}), *out["runs"]]
    counts = Counter(serial for run in runs for serial in run.pop("serials", []))
    return {
        "total": sum(counts.values()),
        "unique_serials": len(counts),
        "certificates_sharing_a_serial": sum(c for c in counts.values() if c > 1),
        "most_shared_serials": [(serial, c) for serial, c in counts.most_common(5) if c > 1],
    }


def run_workload(spec: WorkloadSpec, keys: Sequence[bytes], hooks: Hooks) -> dict[str, Any]:
    algorithms = Algorithms(
        scep.ContentCipher[spec.cipher], scep.DigestAlgorithm[spec.digest], spec.allow_legacy_replies
    )
    enroll = lambda item: enroll_one(spec.url, item, algorithms, spec.timeout)  # noqa: E731
    out: dict[str, Any] = {
        "url": spec.url,
        "request_algorithms": f"{algorithms.cipher.display_name}/{algorithms.digest.display_name}",
        "runs": [],
    }
    offset = 0
    if spec.warmup:
        items = prepare_items(keys[: spec.warmup], f"bench-{spec.label}-warmup-", spec.challenge)
        offset = spec.warmup
        records, wall = run_parallel(items, min(4, spec.warmup), enroll)
        warm = summarize_enrollments(records, wall, min(4, spec.warmup))
        out["warmup"] = {
            k: warm[k]
            for k in (
                "requested",
                "succeeded",
                "errors",
                "outcomes",
                "error_samples",
                "reply_algorithms",
                "serials",
            )
        }
        log(f"{spec.label}: warm-up {warm['succeeded']}/{warm['requested']} ok {warm['error_samples'] or ''}")
        if warm["succeeded"] == 0:
            raise BenchError(f"{spec.label}: no warm-up enrollment succeeded: {warm['error_samples']}")
    for concurrency in spec.concurrencies:
        items = prepare_items(
            keys[offset : offset + spec.n], f"bench-{spec.label}-c{concurrency}-", spec.challenge
        )
        offset += spec.n
        phase = f"c{concurrency}"
        token = hooks.before_run(phase)
        log(f"{spec.label}: {len(items)} enrollments at concurrency {concurrency} ...")
        cpu = CpuMonitor(hooks.server_sessions(), hooks.pg_db)
        records, wall = run_parallel(items, concurrency, enroll)
        summary = summarize_enrollments(records, wall, concurrency)
        summary["cpu"] = cpu.stop()
        summary["server"] = hooks.after_run(phase, token, records)
        out["runs"].append(summary)
        lat = summary["latency_ms"]["pkioperation"]
        log(
            f"{spec.label}: c={concurrency}: {summary['succeeded']}/{summary['requested']} ok, "
            f"{summary['enrollments_per_s']} enrollments/s, "
            f"PKIOperation p50 {lat.get('p50')} ms p95 {lat.get('p95')} ms"
            + (f"; errors {summary['outcomes']}" if summary["errors"] else "")
        )
    out["issued_certificates"] = _serial_report(out)
    token = hooks.before_run("caps")
    log(f"{spec.label}: {spec.caps_requests} GetCACaps at concurrency {spec.caps_concurrency} ...")
    cpu = CpuMonitor(hooks.server_sessions(), hooks.pg_db)
    caps_records, wall = run_parallel(
        range(spec.caps_requests), spec.caps_concurrency, lambda _: caps_one(spec.url, spec.timeout)
    )
    out["getcacaps"] = summarize_caps(caps_records, wall, spec.caps_concurrency)
    out["getcacaps"]["cpu"] = cpu.stop()
    out["getcacaps"]["server"] = hooks.after_run("caps", token, [])
    log(
        f"{spec.label}: GetCACaps {out['getcacaps']['requests_per_s']} requests/s, "
        f"{out['getcacaps']['errors']} errors"
    )
    if spec.profile_n:
        items = prepare_items(
            keys[offset : offset + spec.profile_n], f"bench-{spec.label}-profile-", spec.challenge
        )
        offset += spec.profile_n
        log(
            f"{spec.label}: profiling run ({len(items)} enrollments at concurrency "
            f"{spec.profile_concurrency}, not measured) ..."
        )
        token = hooks.start_profile()
        try:
            records, wall = run_parallel(items, spec.profile_concurrency, enroll)
        finally:
            profile = hooks.stop_profile(token)
        summary = summarize_enrollments(records, wall, spec.profile_concurrency)
        profile["run"] = {k: summary[k] for k in ("requested", "succeeded", "errors", "enrollments_per_s")}
        out["profile"] = profile
    return out


# --- server-side data (certportal) --------------------------------------------------------------------------


def parse_access_log(text: str) -> dict[str, Any]:
    durations: dict[str, list[float]] = {}
    statuses: dict[str, Counter[str]] = {}
    for line in text.splitlines():
        match = ACCESS_RE.search(line)
        if not match:
            continue
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(match["path"]).query)
        operation = (query.get("operation") or [match["path"].split("?")[0]])[0]
        durations.setdefault(operation, []).append(int(match["us"]) / 1000)
        statuses.setdefault(operation, Counter())[match["status"]] += 1
    return {
        op: {"statuses": dict(statuses[op]), "server_ms": dist(values)} for op, values in durations.items()
    }


def problem_lines(text: str, limit: int = 8) -> dict[str, Any]:
    lines = [line.strip() for line in text.splitlines() if PROBLEM_RE.search(line)]
    unique: list[str] = []
    for line in lines:
        short = re.sub(r"^\S+ \S+ ", "", line)[:400]
        if short not in unique:
            unique.append(short)
    return {"count": len(lines), "samples": unique[:limit]}


def _epoch(value: Any) -> float:
    if isinstance(value, dt.datetime):
        return (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).timestamp()
    text = str(value).replace("T", " ")
    parsed = dt.datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.timestamp()


BREAKDOWN_SQL = """
SELECT t.subject, t.status, t.created_at, t.updated_at, r.created_at, r.updated_at, i.created_at
FROM enrollment_sceptransaction t
LEFT JOIN ca_certificaterequest r ON r.id = t.certificate_request_id
LEFT JOIN ca_issuedcertificate i ON i.request_id = r.id
WHERE t.subject LIKE {placeholder}
"""


def breakdown(rows: Sequence[Sequence[Any]], records: list[dict[str, Any]]) -> dict[str, Any]:
    """Where one PKIOperation's time goes, from the client's wall clock and the rows' timestamps."""
    by_cn = {r["cn"]: r for r in records if r["outcome"] == "success" and "wall_send" in r}
    phases: dict[str, list[float]] = {
        k: [] for k in ("ra_verify_decrypt", "ra_submit", "ca_queue_and_sign", "ca_to_ra", "ra_reply")
    }
    for subject, _status, t_created, t_updated, r_created, _r_updated, i_created in rows:
        cn = str(subject).removeprefix("CN=")
        record = by_cn.get(cn)
        if record is None or None in (t_created, t_updated, r_created, i_created):
            continue
        tc, tu, rc, ic = (_epoch(v) for v in (t_created, t_updated, r_created, i_created))
        phases["ra_verify_decrypt"].append((tc - record["wall_send"]) * 1000)
        phases["ra_submit"].append((rc - tc) * 1000)
        phases["ca_queue_and_sign"].append((ic - rc) * 1000)
        phases["ca_to_ra"].append((tu - ic) * 1000)
        phases["ra_reply"].append((record["wall_recv"] - tu) * 1000)
    return {"matched": len(phases["ra_submit"]), **{k: dist(v) for k, v in phases.items()}}


# --- profiling (py-spy) -------------------------------------------------------------------------------------


def find_py_spy(explicit: str | None) -> str | None:
    for candidate in (explicit, shutil.which("py-spy")):
        if candidate and Path(candidate).exists():
            return candidate
    return None


def start_py_spy(
    py_spy: str, processes: Sequence[Managed], stamp: str, label: str
) -> list[tuple[str, subprocess.Popen[bytes], Path]]:
    PROFILE_DIR.mkdir(parents=True, exist_ok=True)
    started = []
    for process in processes:
        out = PROFILE_DIR / f"{stamp}-{label}-{process.name}.txt"
        popen = subprocess.Popen(
            [
                py_spy,
                "record",
                "--pid",
                str(process.popen.pid),
                "--subprocesses",
                "--rate",
                "250",
                "--format",
                "raw",
                "--output",
                str(out),
                "--nonblocking",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
            preexec_fn=_die_with_parent,  # noqa: PLW1509
        )
        started.append((process.name, popen, out))
    time.sleep(1.5)  # let py-spy attach
    return started


def stop_py_spy(started: list[tuple[str, subprocess.Popen[bytes], Path]]) -> dict[str, Any]:
    summary: dict[str, Any] = {}
    for name, popen, out in started:
        with contextlib.suppress(ProcessLookupError):
            popen.send_signal(signal.SIGINT)
        try:
            _, stderr = popen.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            popen.kill()
            _, stderr = popen.communicate()
        summary[name] = (
            summarize_collapsed(out) if out.exists() else {"error": stderr.decode(errors="replace")[-500:]}
        )
        summary[name]["file"] = str(out.relative_to(REPO))
    return summary


def _frame_name(frame: str) -> str:
    """'function (path/to/module.py:123)' -> 'module.function' with a short path."""
    match = re.match(r"(?P<fn>.*?) \((?P<file>[^:()]+)(?::\d+)?\)$", frame.strip())
    if not match:
        return frame.strip()
    file = match["file"]
    for marker in ("site-packages/", "/work/main/", "lib/python3.11/"):
        if marker in file:
            file = file.split(marker, 1)[1]
    return f"{file.removesuffix('.py')}:{match['fn']}"


def summarize_collapsed(path: Path, top: int = 40) -> dict[str, Any]:
    """Inclusive and self sample shares per function, over the active (non-idle) samples py-spy took."""
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [_frame_name(f) for f in stack.split(";") if not f.startswith(("process ", "thread "))]
        if not frames:
            continue
        total += count
        for name in set(frames):
            inclusive[name] += count
        own[frames[-1]] += count

    def share(count: int) -> float:
        return round(100 * count / total, 2) if total else 0.0

    return {
        "samples": total,
        "inclusive_pct": [(name, share(c)) for name, c in inclusive.most_common(top)],
        "self_pct": [(name, share(c)) for name, c in own.most_common(top)],
    }


def _psycopg2() -> Any:
    """psycopg2 (in the project's requirements), typed loosely: its stubs are not a project dependency."""
    return importlib.import_module("psycopg2")


# --- certportal targets -------------------------------------------------------------------------------------


def base_env(extra: dict[str, str], args: argparse.Namespace) -> dict[str, str]:
    inherited = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("CERTPORTAL_", "DJANGO_", "CELERY_", "DATABASE_URL", "REDIS_URL", "GUNICORN_"))
    }
    overrides = dict(item.split("=", 1) for item in args.env)
    return {**inherited, "PYTHONUNBUFFERED": "1", **extra, **overrides}


@dataclass
class Certportal:
    """One running certportal installation: its gunicorn, its CA worker (production) and its database."""

    label: str
    url: str
    web: Managed
    worker: Managed | None
    query_rows: Callable[[str], list[Sequence[Any]]]
    processes: list[Managed] = field(default_factory=list)

    def hooks(self, args: argparse.Namespace, stamp: str) -> Hooks:
        def before(phase: str) -> dict[str, int]:
            return {"web": self.web.log_size(), "worker": self.worker.log_size() if self.worker else 0}

        def after(phase: str, token: dict[str, int], records: list[dict[str, Any]]) -> dict[str, Any]:
            time.sleep(0.5)  # gunicorn writes the access log line after the response
            web_text = self.web.log_text(token["web"])
            worker_text = self.worker.log_text(token["worker"]) if self.worker else ""
            server: dict[str, Any] = {
                "access_log": parse_access_log(web_text),
                "web_log_problems": problem_lines(web_text),
            }
            task_s = [float(m) * 1000 for m in CELERY_DONE_RE.findall(worker_text or web_text)]
            server["issue_task_ms"] = dist(task_s)
            if self.worker:
                server["worker_log_problems"] = problem_lines(worker_text)
            if records:
                try:
                    rows = self.query_rows(f"CN=bench-{self.label}-{phase}-%")
                    server["breakdown_ms"] = breakdown(rows, records)
                    server["transactions_by_status"] = dict(Counter(str(r[1]) for r in rows))
                except Exception as exc:
                    server["breakdown_error"] = f"{type(exc).__name__}: {exc}"
            for name, process in (("web", self.web), ("worker", self.worker)):
                if process is not None and not process.alive():
                    server[f"{name}_exited"] = process.popen.returncode
            return server

        def start_profile() -> Any:
            py_spy = find_py_spy(args.py_spy)
            if py_spy is None:
                log("py-spy not found (--py-spy PATH); profiling run without a profile")
                return []
            return start_py_spy(
                py_spy, [p for p in (self.web, self.worker) if p is not None], stamp, self.label
            )

        return Hooks(
            before,
            after,
            start_profile,
            stop_py_spy,
            server_sessions=lambda: {p.popen.pid for p in self.processes},
            pg_db=args.pg_db if self.worker is not None else None,
        )


def _gunicorn_argv(port: int, args: argparse.Namespace) -> list[str]:
    argv = [
        GUNICORN,
        "-c",
        "portal/gunicorn.conf.py",
        "--bind",
        f"127.0.0.1:{port}",
        "--access-logformat",
        ACCESS_LOG_FORMAT,
    ]
    if args.gunicorn_workers:
        argv += ["--workers", str(args.gunicorn_workers)]
    if args.gunicorn_threads:
        argv += ["--threads", str(args.gunicorn_threads)]
    argv.append(args.wsgi_app)
    return argv


def _setup_pki(env: dict[str, str], challenge: str) -> None:
    manage = [PYTHON, "manage.py"]
    run_checked([*manage, "migrate", "--noinput", "-v", "0"], env=env, what="migrate")
    run_checked([*manage, "demo_setup", "--quiet"], env=env, what="demo_setup")
    # The measured service: production defaults (no legacy algorithms), a static challenge, the demo PKI.
    run_checked(
        [
            *manage,
            "init_scep_service",
            "--slug",
            SERVICE_SLUG,
            "--ca",
            ISSUING_CA,
            "--template",
            TEMPLATE,
            "--static-challenge",
            challenge,
        ],
        env=env,
        what="init_scep_service",
    )


def _rate_env(args: argparse.Namespace) -> dict[str, str]:
    # Every simulated device comes from 127.0.0.1: the per-client limit (120/min by default) would refuse
    # all but the first 120 PKIOperations per minute. The global limit keeps its production default.
    return {} if args.keep_rate_limits else {"CERTPORTAL_SCEP_RATE_PER_CLIENT": "1000000/min"}


def _wait_web(web: Managed, base: str) -> None:
    wait_until(lambda: http_get(f"{base}/healthz")[0] == 200, "gunicorn", process=web)


def start_embedded(
    stack: contextlib.ExitStack, tmp: Path, args: argparse.Namespace, challenge: str
) -> Certportal:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    data = tmp / "embedded-data"
    env = base_env(
        {
            "DJANGO_SETTINGS_MODULE": "portal.settings.local",
            "CERTPORTAL_DATA_DIR": str(data),
            "CERTPORTAL_BASE_URL": base,
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
            **_rate_env(args),
            **({"CERTPORTAL_SCEP_ISSUE_WAIT": str(args.issue_wait)} if args.issue_wait is not None else {}),
        },
        args,
    )
    log("embedded: migrate + demo PKI (SQLite) ...")
    _setup_pki(env, challenge)
    web = Managed.start(
        "gunicorn", _gunicorn_argv(port, args), env=env, log_path=tmp / "embedded-gunicorn.log"
    )
    stack.callback(web.stop)
    _wait_web(web, base)
    db_path = data / "db.sqlite3"

    def query(pattern: str) -> list[Sequence[Any]]:
        with contextlib.closing(sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=30)) as conn:
            return conn.execute(BREAKDOWN_SQL.format(placeholder="?"), (pattern,)).fetchall()

    return Certportal("embedded", f"{base}/scep/{SERVICE_SLUG}", web, None, query, [web])


def _own_database_and_redis(stack: contextlib.ExitStack, args: argparse.Namespace) -> str:
    """Create the benchmark's PostgreSQL database (dropped on exit) and check its Redis DB is empty
    (flushed on exit). Returns the Redis URL.
    """
    import redis  # noqa: PLC0415 - only the production target needs it

    psycopg2 = _psycopg2()
    admin_dsn = f"host={args.pg_host} port={args.pg_port} user={args.pg_user} dbname=postgres"
    db = args.pg_db
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", db):
        raise BenchError(f"--pg-db {db!r}: use lower-case letters, digits and _")

    def admin(sql: str) -> None:
        conn = psycopg2.connect(admin_dsn)
        try:
            conn.autocommit = True
            with conn.cursor() as cursor:
                cursor.execute(sql)
        finally:
            conn.close()

    admin(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
    admin(f"CREATE DATABASE {db}")
    stack.callback(lambda: admin(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)"))
    redis_url = f"redis://{args.redis_host}:{args.redis_port}/{args.redis_db}"
    client = redis.Redis.from_url(redis_url)
    if client.dbsize():
        raise BenchError(
            f"Redis DB {args.redis_db} is not empty; choose another with --redis-db (not 0 or 15)"
        )
    stack.callback(client.flushdb)  # it was empty: everything in it is ours
    return redis_url


def start_production(
    stack: contextlib.ExitStack, tmp: Path, args: argparse.Namespace, challenge: str
) -> Certportal:
    psycopg2 = _psycopg2()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    db = args.pg_db
    redis_url = _own_database_and_redis(stack, args)
    queue = f"bench-ca-{secrets.token_hex(4)}"
    env = base_env(
        {
            "DJANGO_SETTINGS_MODULE": "portal.settings.production",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(40),
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
            "DATABASE_URL": f"postgres://{args.pg_user}@{args.pg_host}:{args.pg_port}/{db}",
            "REDIS_URL": redis_url,
            "CERTPORTAL_CA_QUEUE": queue,
            "CERTPORTAL_DEFAULT_QUEUE": f"{queue}-default",
            "CERTPORTAL_DATA_DIR": str(tmp / "production-data"),
            "CERTPORTAL_BASE_URL": base,
            **_rate_env(args),
            **({"CERTPORTAL_SCEP_ISSUE_WAIT": str(args.issue_wait)} if args.issue_wait is not None else {}),
        },
        args,
    )
    ca_pass, ra_pass = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    log(f"production: migrate + demo PKI (PostgreSQL {db}, Redis DB {args.redis_db}, queue {queue}) ...")
    # Setup only: one process with both passphrases and tasks in process (init_ca/init_ra as on the CA
    # worker). The processes measured below each get only their own passphrase.
    _setup_pki(
        {
            **env,
            "CERTPORTAL_CA_KEY_PASSPHRASE": ca_pass,
            "CERTPORTAL_RA_KEY_PASSPHRASE": ra_pass,
            "CELERY_TASK_ALWAYS_EAGER": "true",
        },
        challenge,
    )
    worker_argv = [CELERY, "-A", "portal", "worker", "-Q", queue, "-n", f"{queue}@%h", "-l", "INFO"]
    if args.celery_pool:
        worker_argv += ["-P", args.celery_pool]
    if args.celery_concurrency:
        worker_argv += ["-c", str(args.celery_concurrency)]
    worker = Managed.start(
        "ca-worker",
        worker_argv,
        env={**env, "CERTPORTAL_CA_KEY_PASSPHRASE": ca_pass},
        log_path=tmp / "production-ca-worker.log",
    )
    stack.callback(worker.stop)
    web = Managed.start(
        "gunicorn",
        _gunicorn_argv(port, args),
        env={**env, "CERTPORTAL_RA_KEY_PASSPHRASE": ra_pass},
        log_path=tmp / "production-gunicorn.log",
    )
    stack.callback(web.stop)
    wait_until(lambda: "ready." in worker.log_text(), "the CA worker", process=worker)
    _wait_web(web, base)
    dsn = f"host={args.pg_host} port={args.pg_port} user={args.pg_user} dbname={db}"

    def query(pattern: str) -> list[Sequence[Any]]:
        conn = psycopg2.connect(dsn)
        try:
            with conn.cursor() as cursor:
                cursor.execute(BREAKDOWN_SQL.format(placeholder="%s"), (pattern,))
                rows: list[Sequence[Any]] = cursor.fetchall()
                return rows
        finally:
            conn.close()

    return Certportal("production", f"{base}/scep/{SERVICE_SLUG}", web, worker, query, [web, worker])


def certportal_target(
    kind: str, args: argparse.Namespace, keys: Sequence[bytes], stamp: str
) -> dict[str, Any]:
    challenge = secrets.token_urlsafe(12)
    with contextlib.ExitStack() as stack:
        tmp = Path(tempfile.mkdtemp(prefix=f"scep-bench-{kind}-"))
        if not args.keep_tmp:
            stack.callback(shutil.rmtree, tmp, ignore_errors=True)
        else:
            log(f"{kind}: temporary files kept in {tmp}")
        starter = start_embedded if kind == "embedded" else start_production
        portal = starter(stack, tmp, args, challenge)
        spec = _spec(kind, portal.url, challenge, args, cipher="AES256_CBC", digest="SHA256", legacy=False)
        spec.profile_n = args.n if args.profile else 0
        result = run_workload(spec, keys, portal.hooks(args, stamp))
        result["setup"] = {
            "gunicorn": " ".join(_gunicorn_argv(0, args)[1:]).replace("127.0.0.1:0", "127.0.0.1:<port>"),
            "ca_worker": "celery -A portal worker -Q <queue>"
            + (f" -P {args.celery_pool}" if args.celery_pool else "")
            + (f" -c {args.celery_concurrency}" if args.celery_concurrency else "")
            if kind == "production"
            else None,
            "database": "SQLite (WAL)" if kind == "embedded" else "PostgreSQL",
            "tasks": "in process (CELERY_TASK_ALWAYS_EAGER)" if kind == "embedded" else "Celery over Redis",
            "rate_limit_per_client": "default" if args.keep_rate_limits else "1000000/min",
        }
        return result


def _spec(
    label: str, url: str, challenge: str, args: argparse.Namespace, *, cipher: str, digest: str, legacy: bool
) -> WorkloadSpec:
    return WorkloadSpec(
        label=label,
        url=url,
        challenge=challenge,
        n=args.n,
        concurrencies=args.concurrency,
        warmup=args.warmup,
        caps_requests=args.caps_requests,
        caps_concurrency=args.caps_concurrency,
        timeout=args.timeout,
        cipher=cipher,
        digest=digest,
        allow_legacy_replies=legacy,
    )


# --- scepserver (micromdm) in a private network namespace ---------------------------------------------------


def scepserver_target(args: argparse.Namespace, keys: Sequence[bytes]) -> dict[str, Any]:
    if not shutil.which("unshare") or not shutil.which(args.scepserver):
        raise BenchError("needs unshare and scepserver (Debian package scep)")
    with contextlib.ExitStack() as stack:
        tmp = Path(tempfile.mkdtemp(prefix="scep-bench-scepserver-"))
        if not args.keep_tmp:
            stack.callback(shutil.rmtree, tmp, ignore_errors=True)
        else:
            log(f"scepserver: temporary files kept in {tmp}")
        keys_file = tmp / "keys.der.json"
        keys_file.write_text(json.dumps([k.hex() for k in keys]))
        keys_file.chmod(0o600)
        spec = _spec(
            "scepserver",
            "http://127.0.0.1:8080/scep",
            secrets.token_urlsafe(12),
            args,
            cipher="AES256_CBC",
            digest="SHA256",
            legacy=True,
        )
        (tmp / "spec.json").write_text(
            json.dumps(
                {
                    "spec": spec.__dict__,
                    "keys": str(keys_file),
                    "tmp": str(tmp),
                    "scepserver": shutil.which(args.scepserver),
                }
            )
        )
        out = tmp / "result.json"
        child = Managed.start(
            "netns-child",
            [
                "unshare",
                "-n",
                "--",
                PYTHON,
                str(Path(__file__).resolve()),
                "--_netns-child",
                str(tmp / "spec.json"),
                str(out),
            ],
            env={**os.environ, "SCEP_BENCH_NO_REEXEC": "1", "PYTHONUNBUFFERED": "1"},
            log_path=tmp / "child.log",
        )
        stack.callback(child.stop)
        offset = 0
        while True:  # relay the child's progress
            alive = child.alive()
            if STOP.is_set():
                raise KeyboardInterrupt
            size = child.log_size()
            if size > offset:
                sys.stderr.write(child.log_text(offset, size))
                offset = size
            if not alive:
                break
            time.sleep(0.5)
        if child.popen.returncode != 0 or not out.exists():
            raise BenchError(f"scepserver run failed ({child.popen.returncode})")
        result: dict[str, Any] = json.loads(out.read_text())
        return result


def netns_child(spec_path: str, out_path: str) -> int:
    """Inside ``unshare -n``: loopback up, a fresh depot, scepserver, the workload."""
    config = json.loads(Path(spec_path).read_text())
    spec = WorkloadSpec(**config["spec"])
    tmp = Path(config["tmp"])
    scepserver = config["scepserver"]
    keys = [bytes.fromhex(k) for k in json.loads(Path(config["keys"]).read_text())]
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    depot = tmp / "depot"
    subprocess.run(
        [
            scepserver,
            "ca",
            "-init",
            "-depot",
            str(depot),
            "-keySize",
            "2048",
            "-organization",
            "scep-bench CA",
        ],
        check=True,
        capture_output=True,
    )
    server = Managed.start(
        "scepserver",
        [
            scepserver,
            "-depot",
            str(depot),
            "-port",
            "8080",
            "-challenge",
            spec.challenge,
            "-allowrenew",
            "0",
            "-crtvalid",
            "30",
        ],
        env=dict(os.environ),
        log_path=tmp / "scepserver.log",
        cwd=tmp,
    )
    try:
        wait_until(
            lambda: http_get(f"{spec.url}?operation=GetCACaps")[0] == 200, "scepserver", process=server
        )

        def before(phase: str) -> int:
            return server.log_size()

        def after(phase: str, offset: int, records: list[dict[str, Any]]) -> dict[str, Any]:
            text = server.log_text(offset)
            took: dict[str, list[float]] = {}
            scale = {"ns": 1e-6, "µs": 1e-3, "us": 1e-3, "ms": 1.0, "s": 1000.0}
            for match in SCEPSERVER_TOOK_RE.finditer(text):
                took.setdefault(match["op"], []).append(float(match["took"]) * scale[match["unit"]])
            return {
                "server_log_took_ms": {op: dist(v) for op, v in took.items()},
                "log_problems": problem_lines(text),
            }

        hooks = Hooks(before, after, server_sessions=lambda: {os.getsid(0), server.popen.pid})
        result = run_workload(spec, keys, hooks)
        result["setup"] = {
            "scepserver": f"{scepserver} -depot <tmp> -port 8080 -challenge <static> "
            "-allowrenew 0 -crtvalid 30",
            "ca_key": "RSA-2048 (scepserver ca -init -keySize 2048)",
            "network": "unshare -n (private namespace, loopback only); the client runs in the same namespace",
        }
        Path(out_path).write_text(json.dumps(result))
    finally:
        server.stop()
    return 0


# --- micro-benchmarks of the crypto (no server, no Django) --------------------------------------------------


def micro_benchmarks(keys: Sequence[bytes], iterations: int = 100) -> dict[str, float]:
    """Per-operation cost (ms, one core) of the cryptographic steps one enrollment needs."""
    from ca.crypto.builders import EndEntitySpec, KeyUsageSpec, build_end_entity_certificate  # noqa: PLC0415

    device_key, ra_key, ca_key = (load_key(k) for k in keys[:3])
    now = dt.datetime.now(dt.UTC)

    def self_signed(key: rsa.RSAPrivateKey, cn: str, ca: bool) -> x509.Certificate:
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
        return (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now)
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
            .sign(key, hashes.SHA256())
        )

    ca_cert, ra_cert = self_signed(ca_key, "micro CA", True), self_signed(ra_key, "micro RA", False)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "micro device")])
    csr = scep.build_csr(device_key, subject, challenge_password=secrets.token_urlsafe(8))
    signer = scep.self_signed_signer(device_key, subject)
    policy = scep.AlgorithmPolicy()
    nonce = os.urandom(16)

    def build_request() -> bytes:
        return scep.build_pki_message(
            message_type=scep.MessageType.PKCS_REQ,
            transaction_id="t",
            sender_nonce=nonce,
            message_data=csr.public_bytes(serialization.Encoding.DER),
            recipient_certificate=ra_cert,
            signer_certificate=signer,
            signer_key=device_key,
            cipher=scep.ContentCipher.AES256_CBC,
            digest=scep.DigestAlgorithm.SHA256,
        )

    request = build_request()

    def server_open() -> x509.CertificateSigningRequest:
        message = scep.parse_pki_message(request)
        scep.verify_pki_message(message, policy=policy)
        assert message.envelope is not None  # noqa: S101
        plaintext, _ = scep.decrypt_envelope(
            message.envelope, recipient_key=ra_key, recipient_certificate=ra_cert, policy=policy
        )
        parsed = scep.parse_csr(plaintext)
        scep.check_csr_key_matches_signer(parsed, message.signer_certificate)
        return parsed

    def sign_certificate() -> x509.Certificate:
        return build_end_entity_certificate(
            EndEntitySpec(
                public_key=csr.public_key(),
                subject=subject,
                sans=(),
                serial=x509.random_serial_number(),
                not_before=now,
                not_after=now + dt.timedelta(days=365),
                key_usage=KeyUsageSpec(digital_signature=True, key_encipherment=True),
                extended_key_usages=("1.3.6.1.5.5.7.3.2",),
                crl_url="http://x/crl",
                issuer_url="http://x/ca",
            ),
            issuer_certificate=ca_cert,
            issuer_key=ca_key,
        )

    issued = sign_certificate()

    def cert_rep() -> bytes:
        return scep.build_cert_rep(
            transaction_id="t",
            recipient_nonce=nonce,
            status=scep.PkiStatus.SUCCESS,
            signer_certificate=ra_cert,
            signer_key=ra_key,
            digest=scep.DigestAlgorithm.SHA256,
            recipient_certificate=signer,
            cipher=scep.ContentCipher.AES256_CBC,
            certificates=[issued, ca_cert],
            extra_certificates=[ca_cert],
        )

    reply = cert_rep()
    ciphertext = ra_key.public_key().encrypt(b"k" * 32, padding.PKCS1v15())
    operations: dict[str, Callable[[], Any]] = {
        "rsa2048_private_sign": lambda: ra_key.sign(b"x", padding.PKCS1v15(), hashes.SHA256()),
        "rsa2048_private_decrypt": lambda: ra_key.decrypt(ciphertext, padding.PKCS1v15()),
        "server_open_request (parse+verify+RSA decrypt+AES+CSR check)": server_open,
        "ca_sign_certificate (build_end_entity_certificate)": sign_certificate,
        "server_build_certrep (degenerate+AES+RSA encrypt+sign)": cert_rep,
        "client_build_request": build_request,
        "client_parse_certrep": lambda: scep.parse_cert_rep(
            reply,
            signer_key=device_key,
            signer_certificate=signer,
            expected_recipient_nonce=nonce,
            ra_certificate=[ra_cert, ca_cert],
            policy=policy,
        ),
    }
    out = {}
    for name, fn in operations.items():
        fn()
        start = time.perf_counter()
        for _ in range(iterations):
            fn()
        out[name] = round((time.perf_counter() - start) / iterations * 1000, 3)
    return out


# --- machine, report ----------------------------------------------------------------------------------------


def machine_info(args: argparse.Namespace) -> dict[str, Any]:
    info: dict[str, Any] = {
        "cores": os.cpu_count(),
        "cpu": next(
            (
                line.split(":", 1)[1].strip()
                for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")
            ),
            platform.processor(),
        ),
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "packages": {},
    }
    for package in (
        "Django",
        "gunicorn",
        "celery",
        "kombu",
        "redis",
        "psycopg2-binary",
        "cryptography",
        "asn1crypto",
        "djangorestframework",
    ):
        with contextlib.suppress(metadata.PackageNotFoundError):
            info["packages"][package] = metadata.version(package)
    with contextlib.suppress(Exception):
        info["scep_deb"] = subprocess.run(
            ["dpkg-query", "-W", "-f=${Version}", "scep"], capture_output=True, text=True, check=False
        ).stdout.strip()
    with contextlib.suppress(Exception):
        info["scepserver_version"] = subprocess.run(
            [args.scepserver, "-version"], capture_output=True, text=True, check=False
        ).stdout.strip()
    with contextlib.suppress(Exception):
        conn = _psycopg2().connect(
            f"host={args.pg_host} port={args.pg_port} user={args.pg_user} dbname=postgres"
        )
        with conn.cursor() as cursor:
            cursor.execute("SHOW server_version")
            info["postgresql"] = cursor.fetchone()[0]
        conn.close()
    with contextlib.suppress(Exception):
        import redis  # noqa: PLC0415

        info["redis"] = redis.Redis(host=args.redis_host, port=args.redis_port).info("server")[
            "redis_version"
        ]
    with contextlib.suppress(Exception):
        info["git_commit"] = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True, check=False
        ).stdout.strip()
    return info


def _fmt(value: Any, digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _server_pkiop_p50(run: dict[str, Any]) -> Any:
    server = run.get("server", {})
    if "access_log" in server:
        return server["access_log"].get("PKIOperation", {}).get("server_ms", {}).get("p50")
    return server.get("server_log_took_ms", {}).get("PKIOperation", {}).get("p50")


def _triple(stats: dict[str, Any], digits: int = 1) -> str:
    return " / ".join(_fmt(stats.get(q), digits) for q in ("p50", "p95", "p99"))


def _cpu_cell(run: dict[str, Any]) -> str:
    cpu = run.get("cpu")
    if not cpu:
        return "-"
    return (
        f"{_fmt(cpu['benchmark_cores'], 2)} ({_fmt(cpu.get('client_cores'), 2)}) "
        f"/ {_fmt(cpu['other_processes_cores'], 2)}"
    )


def _errors_cell(run: dict[str, Any]) -> str:
    cell = "0"
    if run["errors"]:
        kinds = ", ".join(f"{k}: {v}" for k, v in run["outcomes"].items() if k != "success")
        cell = f"{run['errors']} ({kinds})"
    if run.get("duplicate_serials"):
        cell += f"; {run['duplicate_serials']} certificates share a serial"
    return cell


def markdown(results: dict[str, Any]) -> str:
    lines = [
        "| target | C | ok/N | errors | enroll/s | PKIOperation p50 / p95 / p99 ms | server p50 ms "
        "| enroll p50 / p95 / p99 ms | request → reply algorithms | CPU cores: benchmark (client) / others |",
        "|---|---:|---:|---:|---:|---|---:|---|---|---|",
    ]
    for name, target in results["targets"].items():
        if "error" in target:
            lines.append(f"| {name} | | | failed: {target['error'][:120]} | | | | | |")
            continue
        for run in target["runs"]:
            latency = run["latency_ms"]
            replies = ", ".join(sorted(run["reply_algorithms"])) or "-"
            lines.append(
                f"| {name} | {run['concurrency']} | {run['succeeded']}/{run['requested']} "
                f"| {_errors_cell(run)} | {_fmt(run['enrollments_per_s'])} "
                f"| {_triple(latency['pkioperation'])} | {_fmt(_server_pkiop_p50(run))} "
                f"| {_triple(latency['enroll'])} | {target['request_algorithms']} → {replies} "
                f"| {_cpu_cell(run)} |"
            )
    for name, target in results["targets"].items():
        issued = target.get("issued_certificates")
        if issued and issued["certificates_sharing_a_serial"]:
            lines.append(
                f"\n{name}: {issued['total']} certificates issued with only {issued['unique_serials']} "
                f"distinct serial numbers ({issued['certificates_sharing_a_serial']} share a serial with "
                "another)."
            )
    lines += [
        "",
        "| target | GetCACaps requests | C | requests/s | p50 / p95 / p99 ms | errors "
        "| CPU cores: benchmark (client) / others |",
        "|---|---:|---:|---:|---|---:|---|",
    ]
    for name, target in results["targets"].items():
        caps = target.get("getcacaps")
        if caps:
            lines.append(
                f"| {name} | {caps['requests']} | {caps['concurrency']} | {_fmt(caps['requests_per_s'])} "
                f"| {_triple(caps['latency_ms'], 2)} | {caps['errors']} | {_cpu_cell(caps)} |"
            )
    breakdown_lines = []
    for name, target in results["targets"].items():
        for run in target.get("runs", []):
            server = run.get("server", {})
            phases = server.get("breakdown_ms")
            if not phases or not phases.get("matched"):
                continue
            cells = [
                _server_pkiop_p50(run),
                *(phases[key].get("p50") for key in ("ra_verify_decrypt", "ra_submit", "ca_queue_and_sign")),
                server.get("issue_task_ms", {}).get("p50"),
                phases["ca_to_ra"].get("p50"),
                phases["ra_reply"].get("p50"),
            ]
            breakdown_lines.append(
                f"| {name} | {run['concurrency']} | " + " | ".join(_fmt(c) for c in cells) + " |"
            )
    if breakdown_lines:
        lines += [
            "",
            "certportal, median ms per PKIOperation (gunicorn's access log, the issue task's log line, and",
            "the timestamps of the transaction, request and certificate rows against the client's clock):",
            "",
            "| target | C | gunicorn request time | sent → transaction row | → CA request row "
            "| → certificate row (queue + sign) | issue task runtime | → transaction SUCCESS "
            "| → reply received |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
            *breakdown_lines,
        ]
    return "\n".join(lines)


# --- main ---------------------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Benchmark SCEP enrollment: certportal embedded default, certportal production topology "
        "(gunicorn + Celery CA worker + PostgreSQL + Redis) and micromdm scepserver (baseline).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "-n", "--n", type=int, default=200, help="enrollments per target and concurrency level"
    )
    parser.add_argument(
        "-c", "--concurrency", type=int, nargs="+", default=[1, 8], help="concurrency levels (client threads)"
    )
    parser.add_argument(
        "--targets",
        nargs="+",
        choices=["embedded", "production", "scepserver"],
        default=["embedded", "production", "scepserver"],
    )
    parser.add_argument(
        "--warmup", type=int, default=8, help="unmeasured enrollments per target before the runs"
    )
    parser.add_argument("--caps-requests", type=int, default=2000, help="GetCACaps requests per target")
    parser.add_argument("--caps-concurrency", type=int, default=16)
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per HTTP request")
    parser.add_argument(
        "--issue-wait",
        type=float,
        default=None,
        help="CERTPORTAL_SCEP_ISSUE_WAIT for certportal (None: the portal's own, 5 s)",
    )
    parser.add_argument(
        "--keep-rate-limits",
        action="store_true",
        help="keep CERTPORTAL_SCEP_RATE_PER_CLIENT at its default (120/min): expect HTTP 429",
    )
    parser.add_argument(
        "--gunicorn-workers",
        type=int,
        default=0,
        help="override GUNICORN workers (0: portal/gunicorn.conf.py)",
    )
    parser.add_argument(
        "--gunicorn-threads",
        type=int,
        default=0,
        help="override GUNICORN threads (0: portal/gunicorn.conf.py)",
    )
    parser.add_argument("--celery-pool", default="", help="CA worker -P (empty: Celery's, prefork)")
    parser.add_argument(
        "--celery-concurrency", type=int, default=0, help="CA worker -c (0: Celery's, one per core)"
    )
    parser.add_argument("--pg-host", default="127.0.0.1")
    parser.add_argument("--pg-port", type=int, default=5432)
    parser.add_argument("--pg-user", default="postgres")
    parser.add_argument("--pg-db", default="certportal_bench", help="created and dropped by the benchmark")
    parser.add_argument("--redis-host", default="127.0.0.1")
    parser.add_argument("--redis-port", type=int, default=6379)
    parser.add_argument(
        "--redis-db", type=int, default=9, help="must be empty; flushed at the end (not 0 or 15)"
    )
    parser.add_argument("--scepserver", default="scepserver", help="micromdm scepserver binary")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="after the measured runs, an extra unmeasured run of N enrollments per certportal target "
        "under py-spy (gunicorn and the CA worker); stacks go to bench/results/tmp/",
    )
    parser.add_argument("--py-spy", default=None, help="path of py-spy (None: look in PATH)")
    parser.add_argument("--no-micro", action="store_true", help="skip the crypto micro-benchmarks")
    parser.add_argument(
        "--keep-tmp", action="store_true", help="keep the temporary directories (logs, databases)"
    )
    parser.add_argument(
        "--output", type=Path, default=None, help="JSON file (None: bench/results/<timestamp>.json)"
    )
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra environment for every certportal process (repeatable; for experiments, e.g. "
        "DJANGO_SETTINGS_MODULE=... with PYTHONPATH=bench/experiments)",
    )
    parser.add_argument(
        "--wsgi-app", default="portal.wsgi", help="WSGI module gunicorn serves (experiments only)"
    )
    parser.add_argument("--_netns-child", nargs=2, metavar=("SPEC", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.redis_db in (0, 15):
        parser.error("--redis-db 0 and 15 are used by others")
    if any("=" not in item for item in args.env):
        parser.error("--env takes KEY=VALUE")
    if args.n < 1 or min(args.concurrency) < 1:
        parser.error("-n and -c must be positive")
    return args


def _install_signal_handlers() -> None:
    """Ctrl-C, SIGTERM or SIGHUP: stop the workload and clean up; a second one does not cut cleanup short."""

    def interrupt(signum: int, frame: Any) -> None:
        if STOP.is_set():
            return
        STOP.set()
        raise KeyboardInterrupt

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, interrupt)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    _install_signal_handlers()
    if args._netns_child:
        try:
            return netns_child(*args._netns_child)
        except KeyboardInterrupt:
            return 130
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    output = args.output or RESULTS_DIR / f"{stamp}.json"
    results: dict[str, Any] = {
        "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "command": " ".join(["python", "bench/scep_bench.py", *(argv if argv is not None else sys.argv[1:])]),
        "parameters": {
            k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items() if not k.startswith("_")
        },
        "machine": machine_info(args),
        "targets": {},
    }
    started = time.monotonic()
    try:
        per_target = args.warmup + args.n * len(args.concurrency) + (args.n if args.profile else 0)
        log(f"generating {per_target} RSA-2048 keys (before timing; each target gets the same set) ...")
        t0 = time.perf_counter()
        keys = generate_keys(max(per_target, 3))
        results["key_generation_s"] = round(time.perf_counter() - t0, 2)
        if not args.no_micro:
            log("crypto micro-benchmarks ...")
            results["micro_ms"] = micro_benchmarks(keys)
        for target in args.targets:
            log(f"=== {target} ===")
            try:
                if target == "scepserver":
                    results["targets"][target] = scepserver_target(args, keys)
                else:
                    results["targets"][target] = certportal_target(target, args, keys, stamp)
            except BenchError as exc:
                log(f"{target} failed: {exc}")
                results["targets"][target] = {"error": str(exc)[:4000]}
    except KeyboardInterrupt:
        log("interrupted: everything started has been stopped and removed; partial results follow")
        results["interrupted"] = True
    results["elapsed_s"] = round(time.monotonic() - started, 1)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(results, indent=1, default=str) + "\n")
    print(markdown(results))
    if "micro_ms" in results:
        print("\nCrypto micro-benchmarks (ms per operation, one core):\n")
        print("| operation | ms |\n|---|---:|")
        for name, value in results["micro_ms"].items():
            print(f"| {name} | {value} |")
    shown = output.relative_to(REPO) if output.is_relative_to(REPO) else output
    print(f"\nRaw results: {shown} ({results['elapsed_s']} s)")
    return 130 if results.get("interrupted") else 0


if __name__ == "__main__":
    sys.exit(main())
