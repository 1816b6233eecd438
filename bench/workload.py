"""One target's workload: warm-up, the measured enrollment runs per concurrency level, GetCACaps and
GetCACert load and the optional profiling run, with hooks through which the target adds its server-side data.
"""

from __future__ import annotations

import argparse
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from bench.cpu import CpuMonitor
from bench.load import Algorithms, enroll_one, get_one, prepare_items, run_parallel
from bench.runtime import BenchError, log
from bench.stats import summarize_enrollments, summarize_gets
from enrollment import scep


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
    cacert_requests: int = 0
    profile_n: int = 0
    profile_concurrency: int = 8


def spec_from_args(
    label: str, url: str, challenge: str, args: argparse.Namespace, *, cipher: str, digest: str, legacy: bool
) -> WorkloadSpec:
    """The spec of one target's workload from the command line's options."""
    return WorkloadSpec(
        label=label,
        url=url,
        challenge=challenge,
        n=args.n,
        concurrencies=args.concurrency,
        warmup=args.warmup,
        caps_requests=args.caps_requests,
        cacert_requests=args.cacert_requests,
        caps_concurrency=args.caps_concurrency,
        timeout=args.timeout,
        cipher=cipher,
        digest=digest,
        allow_legacy_replies=legacy,
    )


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


def _get_load(spec: WorkloadSpec, hooks: Hooks, operation: str, phase: str, requests: int) -> dict[str, Any]:
    """``requests`` GET ``?operation=<operation>`` at ``spec.caps_concurrency``, each on a new connection."""
    token = hooks.before_run(phase)
    log(f"{spec.label}: {requests} {operation} at concurrency {spec.caps_concurrency} ...")
    cpu = CpuMonitor(hooks.server_sessions(), hooks.pg_db)
    records, wall = run_parallel(
        range(requests), spec.caps_concurrency, lambda _: get_one(spec.url, operation, spec.timeout)
    )
    summary = summarize_gets(records, wall, spec.caps_concurrency)
    summary["operation"] = operation
    summary["cpu"] = cpu.stop()
    summary["server"] = hooks.after_run(phase, token, [])
    log(f"{spec.label}: {operation} {summary['requests_per_s']} requests/s, {summary['errors']} errors")
    return summary


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
    for operation, key, phase, requests in (
        ("GetCACaps", "getcacaps", "caps", spec.caps_requests),
        ("GetCACert", "getcacert", "cacert", spec.cacert_requests),
    ):
        if requests > 0:
            out[key] = _get_load(spec, hooks, operation, phase, requests)
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
