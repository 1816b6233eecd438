"""Reporting: a description of the machine, the ratios to micromdm's scepserver, the verdicts on issue 13's
targets, and the Markdown tables of the results.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import subprocess
from dataclasses import dataclass
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


#: Spelled as escapes: ruff (RUF001) takes the characters for look-alikes of "x" and "-".
TIMES = "\u00d7"
DASH = "\u2013"

#: The baseline every ratio divides by, and the targets issue 13 sets for certportal against it.
BASELINE = "scepserver"
TARGET_CONCURRENCY = 16
_GET_LOADS = (("getcacaps", "GetCACaps"), ("getcacert", "GetCACert"))


@dataclass(frozen=True)
class IssueTarget:
    """One of issue 13's targets for a certportal target: a ratio to micromdm of at least ``threshold``
    (enrollments/s at C=16, or requests/s of a GET load), or the PKIOperation p99 at C=16 under it (ms).
    """

    label: str
    target: str
    measure: str  # "enrollments", "pkioperation_p99" or a GET load's key ("getcacaps", "getcacert")
    threshold: float

    @property
    def is_latency(self) -> bool:
        return self.measure == "pkioperation_p99"


ISSUE_TARGETS = (
    IssueTarget(
        f"production ≥ 0.75{TIMES} micromdm enrollments/s at C=16", "production", "enrollments", 0.75
    ),
    IssueTarget(f"embedded ≥ 1.0{TIMES} micromdm enrollments/s at C=16", "embedded", "enrollments", 1.0),
    IssueTarget("production PKIOperation p99 < 200 ms at C=16", "production", "pkioperation_p99", 200.0),
    *(
        IssueTarget(f"{name} {operation} ≥ 0.8{TIMES} micromdm requests/s", name, key, 0.8)
        for key, operation in _GET_LOADS
        for name in ("embedded", "production")
    ),
)


def _enrollment_rates(target: dict[str, Any]) -> dict[int, float | None]:
    return {run["concurrency"]: run.get("enrollments_per_s") for run in target.get("runs", [])}


def _ratio(value: float | None, base: float | None) -> float | None:
    if value is None or not base:
        return None
    return value / base


def _raw_ratios(results: dict[str, Any]) -> dict[str, Any]:
    targets = results["targets"]
    base = targets.get(BASELINE)
    if base is None or "error" in base:
        base = {}
    base_rates = _enrollment_rates(base)
    out: dict[str, Any] = {"enrollments_per_s": {}, **{f"{key}_requests_per_s": {} for key, _ in _GET_LOADS}}
    for name, target in targets.items():
        if "error" in target:
            continue
        out["enrollments_per_s"][name] = {
            str(concurrency): _ratio(rate, base_rates.get(concurrency))
            for concurrency, rate in _enrollment_rates(target).items()
        }
        for key, _ in _GET_LOADS:
            out[f"{key}_requests_per_s"][name] = _ratio(
                (target.get(key) or {}).get("requests_per_s"), (base.get(key) or {}).get("requests_per_s")
            )
    return out


def ratios(results: dict[str, Any]) -> dict[str, Any]:
    """Each target's enrollments/s (per concurrency, keyed by its string) and GetCACaps/GetCACert requests/s
    divided by scepserver's in the same run; None where scepserver did not run, failed or completed none.
    """
    raw = _raw_ratios(results)
    rounded: dict[str, Any] = {
        "baseline": BASELINE,
        "enrollments_per_s": {
            name: {c: None if r is None else round(r, 3) for c, r in by_c.items()}
            for name, by_c in raw["enrollments_per_s"].items()
        },
    }
    for key, _ in _GET_LOADS:
        measure = f"{key}_requests_per_s"
        rounded[measure] = {name: None if r is None else round(r, 3) for name, r in raw[measure].items()}
    return rounded


def _measure(results: dict[str, Any], raw: dict[str, Any], goal: IssueTarget) -> tuple[float | None, str]:
    """The value ``goal`` is judged on, or None and why it was not measured."""
    targets = results["targets"]
    needed = [goal.target] if goal.is_latency else [goal.target, BASELINE]
    for name in needed:
        if name not in targets:
            return None, f"{name} not in the run"
        if "error" in targets[name]:
            return None, f"{name} failed"
    operations = dict(_GET_LOADS)
    if goal.measure in operations:
        for name in needed:
            if not targets[name].get(goal.measure):
                return None, f"no {operations[goal.measure]} load for {name}"
        return raw[f"{goal.measure}_requests_per_s"][goal.target], f"{BASELINE} answered none"
    for name in needed:
        if TARGET_CONCURRENCY not in _enrollment_rates(targets[name]):
            return None, f"no {name} run at {TARGET_CONCURRENCY} clients"
    if goal.is_latency:
        run = _run_at(targets[goal.target], TARGET_CONCURRENCY)
        p99 = run["latency_ms"]["pkioperation"].get("p99")
        return p99, f"no successful enrollment at {TARGET_CONCURRENCY} clients"
    return raw["enrollments_per_s"][goal.target][str(TARGET_CONCURRENCY)], f"{BASELINE} completed none"


def _run_at(target: dict[str, Any], concurrency: int) -> dict[str, Any]:
    run: dict[str, Any] = next(r for r in target["runs"] if r["concurrency"] == concurrency)
    return run


def targets_verdict(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Issue 13's targets against this run: the measured value and "met", "missed by N %" (relative to the
    threshold) or "not measured (why)".
    """
    raw = _raw_ratios(results)
    rows = []
    for goal in ISSUE_TARGETS:
        value, why_not = _measure(results, raw, goal)
        row: dict[str, Any] = {
            "target": goal.label,
            "threshold": goal.threshold,
            "unit": "ms" if goal.is_latency else TIMES,
            "measured": None if value is None else round(value, 1 if goal.is_latency else 3),
            "met": None,
            "verdict": f"not measured ({why_not})",
        }
        if value is not None:
            met = value < goal.threshold if goal.is_latency else value >= goal.threshold
            short = abs(value - goal.threshold) / goal.threshold * 100
            row["met"] = met
            row["verdict"] = (
                "met" if met else f"missed by {short:.0f} %" if short >= 1 else f"missed by {short:.1f} %"
            )
            if goal.is_latency:
                run = _run_at(results["targets"][goal.target], TARGET_CONCURRENCY)
                if run["errors"]:
                    row["note"] = f"of the {run['succeeded']} successes of {run['requested']}"
        rows.append(row)
    return rows


def _ratio_cell(value: float | None) -> str:
    return DASH if value is None else f"{value:.2f}"


def _targets_lines(verdicts: list[dict[str, Any]]) -> list[str]:
    lines = [
        "",
        f"Issue 13's targets (this run; ratios to {BASELINE} in the same run):",
        "",
        "| target | measured | verdict |",
        "|---|---:|---|",
    ]
    for row in verdicts:
        value = row["measured"]
        if value is None:
            cell = DASH
        elif row["unit"] == "ms":
            cell = f"{value:.1f} ms"
        else:
            cell = f"{value:.2f}{TIMES}"
        if row.get("note"):
            cell += f" ({row['note']})"
        lines.append(f"| {row['target']} | {cell} | {row['verdict']} |")
    return lines


def markdown(results: dict[str, Any]) -> str:
    lines = [
        f"| target | C | ok/N | errors | enroll/s | {TIMES} micromdm | PKIOperation p50 / p95 / p99 ms "
        "| server p50 ms | enroll p50 / p95 / p99 ms | request → reply algorithms "
        "| CPU cores: benchmark (client) / others |",
        "|---|---:|---:|---:|---:|---:|---|---:|---|---|---|",
    ]
    measured = ratios(results)
    for name, target in results["targets"].items():
        if "error" in target:
            lines.append(f"| {name} | | | failed: {target['error'][:120]} | | | | | | | |")
            continue
        for run in target["runs"]:
            latency = run["latency_ms"]
            replies = ", ".join(sorted(run["reply_algorithms"])) or "-"
            lines.append(
                f"| {name} | {run['concurrency']} | {run['succeeded']}/{run['requested']} "
                f"| {_errors_cell(run)} | {_fmt(run['enrollments_per_s'])} "
                f"| {_ratio_cell(measured['enrollments_per_s'].get(name, {}).get(str(run['concurrency'])))} "
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
        f"| target | operation | requests | C | requests/s | {TIMES} micromdm | p50 / p95 / p99 ms | errors "
        "| CPU cores: benchmark (client) / others |",
        "|---|---|---:|---:|---:|---:|---|---:|---|",
    ]
    for name, target in results["targets"].items():
        for key, operation in _GET_LOADS:
            load = target.get(key)
            if load:
                lines.append(
                    f"| {name} | {operation} | {load['requests']} | {load['concurrency']} "
                    f"| {_fmt(load['requests_per_s'])} "
                    f"| {_ratio_cell(measured[f'{key}_requests_per_s'].get(name))} "
                    f"| {_triple(load['latency_ms'], 2)} | {load['errors']} | {_cpu_cell(load)} |"
                )
    lines += _targets_lines(targets_verdict(results))
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
