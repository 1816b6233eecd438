"""Reporting: a description of the machine, and the Markdown tables of the results."""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

import redis

from bench.datastores import load_psycopg2
from bench.runtime import REPO


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
        conn = load_psycopg2().connect(
            f"host={args.pg_host} port={args.pg_port} user={args.pg_user} dbname=postgres"
        )
        with conn.cursor() as cursor:
            cursor.execute("SHOW server_version")
            info["postgresql"] = cursor.fetchone()[0]
        conn.close()
    with contextlib.suppress(Exception):
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
    lines += _cpu_by_kind_lines(results)
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


_KINDS = ("web", "ca_worker", "postgresql", "redis", "scepserver", "client")


def _cpu_by_kind_lines(results: dict[str, Any]) -> list[str]:
    """CPU ms per successful enrollment by process type: what sizing a deployment needs."""
    rows = []
    for name, target in results["targets"].items():
        for run in target.get("runs", []):
            seconds = (run.get("cpu") or {}).get("seconds_by_kind")
            if not seconds or not run.get("succeeded"):
                continue
            per = {kind: 1000 * seconds.get(kind, 0.0) / run["succeeded"] for kind in _KINDS}
            server = sum(value for kind, value in per.items() if kind != "client")
            rows.append(
                f"| {name} | {run['concurrency']} | "
                + " | ".join(_fmt(per[kind], 2) for kind in _KINDS)
                + f" | {_fmt(server, 2)} |"
            )
    if not rows:
        return []
    return [
        "",
        "CPU ms per enrollment by process type (/proc; redis is the machine's redis-server, which other",
        "work may share; processes that exited during the run are missing):",
        "",
        "| target | C | web | CA worker | PostgreSQL | Redis | scepserver | client | server total |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        *rows,
    ]
