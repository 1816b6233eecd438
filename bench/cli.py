"""The command line: options, signal handling, and one run over the chosen targets, written as JSON and
printed as Markdown.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.certportal import certportal_target
from bench.datastores import datastore_arguments, datastore_arguments_check
from bench.load import generate_keys
from bench.micro import micro_benchmarks
from bench.report import machine_info, markdown, ratios, targets_verdict
from bench.runtime import REPO, RESULTS_DIR, BenchError, install_signal_handlers, log
from bench.scepserver import netns_child, scepserver_target


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
        "-c",
        "--concurrency",
        type=int,
        nargs="+",
        default=[1, 4, 16],
        help="concurrency levels (client threads); issue 13's targets are at 16",
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
    parser.add_argument(
        "--caps-requests", type=int, default=2000, help="GetCACaps requests per target (0: none)"
    )
    parser.add_argument(
        "--cacert-requests", type=int, default=2000, help="GetCACert requests per target (0: none)"
    )
    parser.add_argument(
        "--caps-concurrency", type=int, default=16, help="client threads of the GetCACaps and GetCACert loads"
    )
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
    datastore_arguments(
        parser,
        pg_db="certportal_bench",
        pg_db_help="created and dropped by the benchmark",
        redis_db=9,
        redis_db_help="must be empty; flushed at the end (not 0 or 15)",
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
    datastore_arguments_check(parser, args)
    if any("=" not in item for item in args.env):
        parser.error("--env takes KEY=VALUE")
    if args.n < 1 or min(args.concurrency) < 1 or args.caps_concurrency < 1:
        parser.error("-n, -c and --caps-concurrency must be positive")
    if args.caps_requests < 0 or args.cacert_requests < 0:
        parser.error("--caps-requests and --cacert-requests must not be negative")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    install_signal_handlers()
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
    results["ratios"] = ratios(results)
    results["targets_verdict"] = targets_verdict(results)
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
