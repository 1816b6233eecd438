"""Profiling with py-spy: attached to a target's processes during an unmeasured run; collapsed stacks go to
bench/results/tmp/ and a summary of them into the results.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.processes import Managed, die_with_parent
from bench.runtime import REPO, RESULTS_DIR

PROFILE_DIR = RESULTS_DIR / "tmp"  # ignored by git


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
            preexec_fn=die_with_parent,  # noqa: PLW1509
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
