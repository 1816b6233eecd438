"""CPU accounting from /proc: how busy the machine was during a run, and with what (the benchmark or
others).
"""

from __future__ import annotations

import os
import time
from collections import Counter
from pathlib import Path
from typing import Any

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
        kinds: Counter[str] = Counter()  # the benchmark's CPU by process type (and the shared Redis)
        for pid, (session, ticks, name, started) in _processes().items():
            before = self.processes.get(pid)
            delta = ticks - before[1] if before is not None and before[3] == started else ticks
            if delta <= 0:
                continue
            if pid == os.getpid():
                client += delta
            if name == "redis-server":  # shared by everyone on the machine; reported apart
                kinds["redis"] += delta
            if self._ours(pid, session, name):
                ours += delta
                kinds[_kind(pid, name)] += delta
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
            #: CPU seconds by process type: client, web (gunicorn), ca_worker (celery), postgresql,
            #: scepserver, and redis (the machine's redis-server, which other work may also use).
            "seconds_by_kind": {kind: round(t / CLOCK_TICKS, 3) for kind, t in sorted(kinds.items())},
        }


def _kind(pid: int, name: str) -> str:
    if pid == os.getpid():
        return "client"
    if name == "postgres":
        return "postgresql"
    command = _cmdline(pid)
    for marker, kind in (("gunicorn", "web"), ("celery", "ca_worker"), ("scepserver", "scepserver")):
        if marker in command or marker in name:
            return kind
    return "other"
