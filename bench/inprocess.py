"""In-process cost of one GetCACaps and of one enrollment, through Django's test client (no sockets, no
gunicorn): Python function calls per operation (cProfile, deterministic, usable on a busy machine), CPU ms
and SQL statements, and optionally the cProfile listing. The levers of docs/benchmarks.md ("fourth
session") were judged with it.

    .venv/bin/python -m bench.inprocess [--n 60] [--profile] [--data-dir DIR]

Runs on the embedded default's settings in a temporary data directory (SQLite, tasks in process): the
web side and the CA side of an enrollment are both counted.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def _measure(name: str, operation: Callable[[], None], n: int, profile: bool) -> None:
    started, cpu = time.perf_counter(), time.process_time()
    for _ in range(n):
        operation()
    wall_ms = (time.perf_counter() - started) * 1000 / n
    cpu_ms = (time.process_time() - cpu) * 1000 / n
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(n):
        operation()
    profiler.disable()
    stats = pstats.Stats(profiler)
    calls = stats.total_calls / n  # type: ignore[attr-defined]  # set by Stats, missing from the stubs
    print(f"{name}: {calls:,.0f} Python calls, {cpu_ms:.2f} ms CPU, {wall_ms:.2f} ms wall per operation")
    if profile:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(40)
        print(out.getvalue())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=60, help="operations per measurement")
    parser.add_argument("--profile", action="store_true", help="print the cProfile listing (cumulative)")
    parser.add_argument("--data-dir", type=Path, default=None, help="(default: a temporary directory)")
    args = parser.parse_args(argv)
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="certportal-inprocess-"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings.local")
    os.environ["CERTPORTAL_DATA_DIR"] = str(data_dir)
    os.environ["CERTPORTAL_SCEP_RATE_PER_CLIENT"] = "1000000/min"
    os.environ.setdefault("DJANGO_LOG_LEVEL", "WARNING")
    import django  # noqa: PLC0415 - after the environment is set

    django.setup()
    from django.conf import settings  # noqa: PLC0415
    from django.core.management import call_command  # noqa: PLC0415
    from django.db import connection  # noqa: PLC0415
    from django.test import Client  # noqa: PLC0415
    from django.test.utils import CaptureQueriesContext  # noqa: PLC0415

    from bench.load import Algorithms, enroll_one, generate_keys, prepare_items  # noqa: PLC0415
    from enrollment import scep  # noqa: PLC0415

    call_command("migrate", verbosity=0)
    call_command("demo_setup", verbosity=0)
    challenge = (Path(settings.SECRETS_DIR) / "demo_scep_challenge").read_text().strip()
    client = Client(HTTP_HOST="127.0.0.1")

    class TestClientTransport(scep.ScepClient):
        def _http(
            self, method: str, operation: str, message: str | None, body: bytes | None = None
        ) -> tuple[str, bytes]:
            query = {"operation": operation, **({"message": message} if message is not None else {})}
            if method == "GET":
                response: Any = client.get("/scep/demo", query)
            else:
                response = client.post(
                    f"/scep/demo?operation={operation}", data=body, content_type=scep.CONTENT_TYPE_PKI_MESSAGE
                )
            if response.status_code != 200:
                raise scep.ScepClientError(f"{operation}: HTTP {response.status_code}")
            return str(response["Content-Type"]).split(";")[0], bytes(response.content)

    scep.ScepClient = TestClientTransport  # type: ignore[misc]  # enroll_one builds its client from here
    items = iter(prepare_items(generate_keys(2 * args.n + 12), f"inprocess-{os.getpid()}-", challenge))
    algorithms = Algorithms(scep.ContentCipher.AES256_CBC, scep.DigestAlgorithm.SHA256, False)

    def enroll() -> None:
        record = enroll_one("http://127.0.0.1/scep/demo", next(items), algorithms, 30.0)
        if record["outcome"] != "success":
            raise SystemExit(f"enrollment failed: {record}")

    def get_ca_caps() -> None:
        client.get("/scep/demo", {"operation": "GetCACaps"})

    for _ in range(10):
        enroll()
    with CaptureQueriesContext(connection) as queries:
        enroll()
    print(f"statements per enrollment (web and CA side, SQLite): {len(queries.captured_queries)}")
    _measure("GetCACaps", get_ca_caps, max(args.n * 8, 200), args.profile)
    _measure("enrollment (GetCACaps + GetCACert + PKCSReq, both sides)", enroll, args.n, args.profile)
    return 0


if __name__ == "__main__":
    sys.exit(main())
