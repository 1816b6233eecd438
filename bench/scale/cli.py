"""The command line of ``python -m bench.scale``: options, the run (installation, data set, measurements),
the JSON written to bench/results/ and the Markdown printed.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import datetime as dt
import json
import os
import sys
import time
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from django.db import connection, connections

from bench.datastores import datastore_arguments, datastore_arguments_check
from bench.report import machine_info
from bench.runtime import REPO, RESULTS_DIR, install_signal_handlers, log
from bench.scale.environment import installation
from bench.scale.report import markdown

__all__ = ["main", "parse_args"]

ORDER = ("crl", "ocsp", "api", "admin", "dashboard", "checkin", "import")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.scale",
        description="The admin side at scale: CRL, OCSP, the certificate list (API and admin), the "
        "dashboard, device check-in and the directory import, on a generated data set in a PostgreSQL "
        "database of the run's own.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--certificates", type=int, default=20_000, help="certificate rows")
    parser.add_argument("--revoked", type=int, default=2_000, help="of them revoked (all on the CRL)")
    parser.add_argument("--devices", type=int, default=2_000, help="devices, spread over --groups")
    parser.add_argument("--groups", type=int, default=100, help="device groups (profiles assigned to each)")
    parser.add_argument("--users", type=int, default=2_000, help="users in the import file")
    parser.add_argument("--checkins", type=int, default=0, help="devices that check in (0: every device)")
    parser.add_argument(
        "--crl-large",
        action="store_true",
        help="at the end, revoke every certificate and build that CRL too (--certificates entries)",
    )
    parser.add_argument(
        "--only",
        default=",".join(ORDER),
        help=f"comma-separated measurements, of: {', '.join(ORDER)} (crl-large follows --crl-large)",
    )
    parser.add_argument("--ocsp-requests", type=int, default=2_000, help="OCSP requests in the loop")
    parser.add_argument("--list-repeat", type=int, default=20, help="requests per list scenario / render")
    parser.add_argument("--crl-repeat", type=int, default=2, help="CRLs built (each a new CRL number)")
    parser.add_argument(
        "--profile",
        type=Path,
        default=None,
        metavar="DIR",
        help="write a cProfile of each measurement to DIR/<name>.prof (slows the run down)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the database (not dropped at the end)")
    datastore_arguments(
        parser,
        pg_db="certportal_scale",
        pg_db_help="created (and dropped) by the run",
        redis_db=13,
        redis_db_help="the cache; must be empty, flushed at the end",
    )
    parser.add_argument(
        "--output", type=Path, default=None, help="JSON file (None: bench/results/scale-<timestamp>.json)"
    )
    args = parser.parse_args(argv)
    chosen = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = sorted(set(chosen) - set(ORDER))
    if unknown:
        parser.error(f"--only: unknown measurement(s) {', '.join(unknown)}; choose from {', '.join(ORDER)}")
    args.measurements = [name for name in ORDER if name in chosen]
    datastore_arguments_check(parser, args)
    if min(args.certificates, args.revoked, args.devices, args.groups, args.users) < 0:
        parser.error("sizes cannot be negative")
    return args


def _run(args: argparse.Namespace, results: dict[str, Any]) -> None:
    with contextlib.ExitStack() as stack:
        started = time.perf_counter()
        installation(stack, args)
        results["setup_s"] = round(time.perf_counter() - started, 1)
        # Only now that Django is set up: these import the project's models.
        from bench.scale import generate, measure  # noqa: PLC0415

        ctx = measure.Context(args)
        data: dict[str, Any] = {}
        log(f"generating {args.certificates:,} certificates ({args.revoked:,} revoked) ...")
        data["certificates_s"] = round(
            generate.certificates_generate(
                count=args.certificates,
                revoked=args.revoked,
                authority_id=ctx.authority.pk,
                template_id=ctx.template.pk,
            ),
            1,
        )
        if "checkin" in args.measurements:
            log(f"generating {args.devices:,} devices in {args.groups:,} groups ...")
            data["directory"] = generate.directory_generate(devices=args.devices, groups=args.groups)
        data["table_sizes"] = _table_sizes()
        results["data_set"] = data
        for name in args.measurements:
            log(f"=== {name} ===")
            results["measurements"][name] = _guarded(
                lambda name=name: measure.MEASUREMENTS[name](ctx), args.profile, name
            )
        if args.crl_large:
            log("=== crl-large: every certificate revoked ===")
            results["measurements"]["crl_large"] = _guarded(
                lambda: measure.measure_crl_large(ctx), args.profile, "crl_large"
            )
        connections.close_all()  # before the database is dropped


def _guarded(call: Any, profile_dir: Path | None, name: str) -> dict[str, Any]:
    started = time.perf_counter()
    profiler = cProfile.Profile() if profile_dir is not None else None
    try:
        if profiler is not None:
            profiler.enable()
        out: dict[str, Any] = call()
    except KeyboardInterrupt:
        raise
    except Exception as exc:  # one measurement failing must not lose the others
        log(f"failed: {type(exc).__name__}: {exc}")
        out = {"error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc()[-4000:]}
    finally:
        if profiler is not None and profile_dir is not None:
            profiler.disable()
            profile_dir.mkdir(parents=True, exist_ok=True)
            profiler.dump_stats(profile_dir / f"{name}.prof")
    out["elapsed_s"] = round(time.perf_counter() - started, 1)
    return out


def _table_sizes() -> dict[str, str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname, pg_size_pretty(pg_total_relation_size(oid)) FROM pg_class "
            "WHERE relname IN ('ca_issuedcertificate', 'directory_device', 'directory_group_devices')"
        )
        return dict(cursor.fetchall())


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    install_signal_handlers()
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    output = args.output or RESULTS_DIR / f"scale-{stamp}.json"
    machine_args = argparse.Namespace(**vars(args), scepserver="scepserver")
    results: dict[str, Any] = {
        "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "command": " ".join(["python -m bench.scale", *(argv if argv is not None else sys.argv[1:])]),
        "parameters": {
            k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items() if not k.startswith("_")
        },
        "machine": machine_info(machine_args),
        "loadavg_start": [round(v, 2) for v in os.getloadavg()],
        "measurements": {},
    }
    started = time.monotonic()
    try:
        _run(args, results)
    except KeyboardInterrupt:
        log("interrupted: the database is dropped (unless --keep); partial results follow")
        results["interrupted"] = True
    results["loadavg_end"] = [round(v, 2) for v in os.getloadavg()]
    results["elapsed_s"] = round(time.monotonic() - started, 1)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(results, indent=1, default=str) + "\n")
    print(markdown(results))
    shown = output.relative_to(REPO) if output.is_relative_to(REPO) else output
    print(f"\nRaw results: {shown} ({results['elapsed_s']} s)")
    failed = any("error" in value for value in results["measurements"].values())
    return 130 if results.get("interrupted") else (1 if failed else 0)
