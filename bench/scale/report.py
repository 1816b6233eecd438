"""The Markdown summary of a scale run: one table of the headline numbers against the targets, then the list
scenarios and which statements scanned the certificates table sequentially.
"""

from __future__ import annotations

from typing import Any

__all__ = ["markdown"]


def _fmt(value: Any, digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _cpu(out: dict[str, Any]) -> str:
    cpu = out.get("cpu")
    if not cpu:
        return "-"
    return f"{_fmt(cpu['benchmark_cores'], 2)} / {_fmt(cpu['other_processes_cores'], 2)}"


def _crl_row(name: str, out: dict[str, Any]) -> list[str]:
    rows = []
    for run in out.get("runs", []):
        ok = (
            run.get("signature_valid") and run.get("openssl_ok") and run["entries"] == run["entries_expected"]
        )
        rows.append(
            f"| {name} | {_fmt(run['revoked'])} entries: {_fmt(run['seconds'], 2)} s, "
            f"{_fmt(run['der_mib'], 2)} MiB DER | {'< 5 s (100,000)' if name == 'crl' else 'timed'} "
            f"| {'checked' if ok else 'CHECK FAILED'} (cryptography + openssl crl) | {_cpu(out)} |"
        )
    return rows


def markdown(results: dict[str, Any]) -> str:
    measurements = results.get("measurements", {})
    lines = [
        "| measurement | result | target | notes | CPU cores: benchmark / others |",
        "|---|---|---|---|---|",
    ]
    for name, out in measurements.items():
        if "error" in out:
            lines.append(f"| {name} | failed: {out['error'][:150]} | | | |")
            continue
        if name in ("crl", "crl_large"):
            lines += _crl_row(name, out)
        elif name == "ocsp":
            lines.append(
                f"| ocsp | {_fmt(out['responses_per_s'])} responses/s "
                f"(p50 {_fmt(out['latency_ms']['p50'], 2)} ms, p95 {_fmt(out['latency_ms']['p95'], 2)} ms) "
                f"| ≥ 1,000/s | {out['answers']}, "
                f"{out['answers_not_as_expected']} not as expected | {_cpu(out)} |"
            )
        elif name in ("api", "admin"):
            lines.append(
                f"| {name} list | worst p95 {_fmt(out['worst_p95_ms'])} ms over "
                f"{len(out['scenarios'])} scenarios | p95 < 150 ms | see below | {_cpu(out)} |"
            )
        elif name == "dashboard":
            lines.append(
                f"| dashboard | context p50 {_fmt(out['context_ms']['p50'])} ms, page p50 "
                f"{_fmt(out['page_ms']['p50'])} / p95 {_fmt(out['page_ms']['p95'])} ms | timed "
                f"| counts {out['counts']} | {_cpu(out)} |"
            )
        elif name == "checkin":
            lines.append(
                f"| check-in | {_fmt(out['devices_per_s'])} devices/s ({_fmt(out['devices'])} devices, "
                f"p50 {_fmt(out['latency_ms'].get('p50'), 2)} ms) | ≥ 500/s | {out['failed']} failed, "
                f"{_fmt(out['challenges_handed_out'])} challenges | {_cpu(out)} |"
            )
        elif name == "import":
            job = out["job"]
            lines.append(
                f"| import | {_fmt(out['rows_per_s'])} rows/s ({_fmt(out['rows'])} users in "
                f"{_fmt(out['create_s'] + out['run_s'])} s) | ≥ 2,000/s | {job['status']}: "
                f"{_fmt(job['created'])} created, {job['failed']} failed; {out['progress_samples']} progress "
                f"samples, admin fragment at 100 %: {out['admin_status_fragment']['shows_100_percent']} "
                f"| {_cpu(out)} |"
            )
    for name in ("api", "admin"):
        out = measurements.get(name)
        if not out or "error" in out:
            continue
        lines += [
            "",
            f"| {name} scenario | p50 ms | p95 ms | statements (ms) | sequential scan of the certificates |",
            "|---|---:|---:|---:|---|",
        ]
        for label, scenario in out["scenarios"].items():
            plans = scenario["plans"]
            seq = [p for p in plans["explained"] if p["seq_scan"]]
            lines.append(
                f"| {label} | {_fmt(scenario['ms']['p50'])} | {_fmt(scenario['ms']['p95'])} "
                f"| {plans['statements']} ({_fmt(plans['statements_ms'])}) "
                f"| {'YES: ' + str(len(seq)) + ' statement(s)' if seq else 'no'} |"
            )
    lines += [
        "",
        f"Load average at the start {results.get('loadavg_start')}, at the end {results.get('loadavg_end')} "
        "(the machine is shared).",
    ]
    return "\n".join(lines)
