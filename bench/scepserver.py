"""The micromdm scepserver baseline, in a private network namespace: the parent re-runs the harness inside
``unshare -n`` and relays its progress; the child (``--_netns-child``) brings up loopback, creates a depot,
starts scepserver and drives the workload from inside the namespace.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.processes import Managed, http_get, wait_until
from bench.runtime import PYTHON, STOP, BenchError, log
from bench.serverside import SCEPSERVER_TOOK_RE, problem_lines
from bench.stats import dist
from bench.workload import Hooks, WorkloadSpec, run_workload, spec_from_args


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
        spec = spec_from_args(
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
                "-m",
                "bench",
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
