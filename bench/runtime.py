"""What every part of the harness shares: where the repository is, which interpreter runs it, the flag that
stops a run, the progress log and the error that fails one target.

Standard library only: the entry points import it before they know the interpreter has the project's
dependencies.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
RESULTS_DIR = REPO / "bench" / "results"

STOP = threading.Event()


def use_project_python(arguments: Sequence[str]) -> None:
    """Re-execute with the project's virtualenv unless this is it (or ``SCEP_BENCH_NO_REEXEC`` is set);
    ``arguments`` are what follows the interpreter on the new command line.
    """
    venv = REPO / ".venv"
    if (
        (venv / "bin" / "python").exists()
        and Path(sys.prefix).resolve() != venv.resolve()
        and not os.environ.get("SCEP_BENCH_NO_REEXEC")
    ):
        os.execv(str(venv / "bin" / "python"), [str(venv / "bin" / "python"), *arguments])  # noqa: S606


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


class BenchError(Exception):
    pass


def install_signal_handlers() -> None:
    """Ctrl-C, SIGTERM or SIGHUP: stop the workload and clean up; a second one does not cut cleanup short."""

    def interrupt(signum: int, frame: Any) -> None:
        if STOP.is_set():
            return
        STOP.set()
        raise KeyboardInterrupt

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, interrupt)
