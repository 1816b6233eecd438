"""The certportal targets, each with a demo PKI and its server-side hooks: embedded (gunicorn, SQLite,
tasks in process) and production (gunicorn + a Celery CA worker on PostgreSQL and Redis).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import shutil
import sqlite3
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.datastores import load_psycopg2, own_database_and_redis
from bench.processes import Managed, free_port, http_get, run_checked, wait_until
from bench.profiling import find_py_spy, start_py_spy, stop_py_spy
from bench.runtime import PYTHON, log
from bench.serverside import (
    ACCESS_LOG_FORMAT,
    BREAKDOWN_SQL,
    CELERY_DONE_RE,
    breakdown,
    parse_access_log,
    problem_lines,
)
from bench.stats import dist
from bench.workload import Hooks, run_workload, spec_from_args

GUNICORN = str(Path(PYTHON).parent / "gunicorn")
CELERY = str(Path(PYTHON).parent / "celery")

SERVICE_SLUG = "bench"
ISSUING_CA = "demo-issuing"
TEMPLATE = "CertportalDemo"


def base_env(extra: dict[str, str], args: argparse.Namespace) -> dict[str, str]:
    inherited = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("CERTPORTAL_", "DJANGO_", "CELERY_", "DATABASE_URL", "REDIS_URL", "GUNICORN_"))
    }
    overrides = dict(item.split("=", 1) for item in args.env)
    return {**inherited, "PYTHONUNBUFFERED": "1", **extra, **overrides}


@dataclass
class Certportal:
    """One running certportal installation: its gunicorn, its CA worker (production) and its database."""

    label: str
    url: str
    web: Managed
    worker: Managed | None
    query_rows: Callable[[str], list[Sequence[Any]]]
    processes: list[Managed] = field(default_factory=list)

    def hooks(self, args: argparse.Namespace, stamp: str) -> Hooks:
        def before(phase: str) -> dict[str, int]:
            return {"web": self.web.log_size(), "worker": self.worker.log_size() if self.worker else 0}

        def after(phase: str, token: dict[str, int], records: list[dict[str, Any]]) -> dict[str, Any]:
            time.sleep(0.5)  # gunicorn writes the access log line after the response
            web_text = self.web.log_text(token["web"])
            worker_text = self.worker.log_text(token["worker"]) if self.worker else ""
            server: dict[str, Any] = {
                "access_log": parse_access_log(web_text),
                "web_log_problems": problem_lines(web_text),
            }
            task_s = [float(m) * 1000 for m in CELERY_DONE_RE.findall(worker_text or web_text)]
            server["issue_task_ms"] = dist(task_s)
            if self.worker:
                server["worker_log_problems"] = problem_lines(worker_text)
            if records:
                try:
                    rows = self.query_rows(f"CN=bench-{self.label}-{phase}-%")
                    server["breakdown_ms"] = breakdown(rows, records)
                    server["transactions_by_status"] = dict(Counter(str(r[1]) for r in rows))
                except Exception as exc:
                    server["breakdown_error"] = f"{type(exc).__name__}: {exc}"
            for name, process in (("web", self.web), ("worker", self.worker)):
                if process is not None and not process.alive():
                    server[f"{name}_exited"] = process.popen.returncode
            return server

        def start_profile() -> Any:
            py_spy = find_py_spy(args.py_spy)
            if py_spy is None:
                log("py-spy not found (--py-spy PATH); profiling run without a profile")
                return []
            return start_py_spy(
                py_spy, [p for p in (self.web, self.worker) if p is not None], stamp, self.label
            )

        return Hooks(
            before,
            after,
            start_profile,
            stop_py_spy,
            server_sessions=lambda: {p.popen.pid for p in self.processes},
            pg_db=args.pg_db if self.worker is not None else None,
        )


def _gunicorn_argv(port: int, args: argparse.Namespace) -> list[str]:
    argv = [
        GUNICORN,
        "-c",
        "portal/gunicorn.conf.py",
        "--bind",
        f"127.0.0.1:{port}",
        "--access-logformat",
        ACCESS_LOG_FORMAT,
    ]
    if args.gunicorn_workers:
        argv += ["--workers", str(args.gunicorn_workers)]
    if args.gunicorn_threads:
        argv += ["--threads", str(args.gunicorn_threads)]
    argv.append(args.wsgi_app)
    return argv


def _setup_pki(env: dict[str, str], challenge: str) -> None:
    manage = [PYTHON, "manage.py"]
    run_checked([*manage, "migrate", "--noinput", "-v", "0"], env=env, what="migrate")
    run_checked([*manage, "demo_setup", "--quiet"], env=env, what="demo_setup")
    # The measured service: production defaults (no legacy algorithms), a static challenge, the demo PKI.
    run_checked(
        [
            *manage,
            "init_scep_service",
            "--slug",
            SERVICE_SLUG,
            "--ca",
            ISSUING_CA,
            "--template",
            TEMPLATE,
            f"--static-challenge={challenge}",  # one argument: a token_urlsafe value may start with "-"
        ],
        env=env,
        what="init_scep_service",
    )


def _rate_env(args: argparse.Namespace) -> dict[str, str]:
    # Every simulated device comes from 127.0.0.1: the per-client limit (120/min by default) would refuse
    # all but the first 120 PKIOperations per minute. The global limit keeps its production default.
    return {} if args.keep_rate_limits else {"CERTPORTAL_SCEP_RATE_PER_CLIENT": "1000000/min"}


def _wait_web(web: Managed, base: str) -> None:
    wait_until(lambda: http_get(f"{base}/healthz")[0] == 200, "gunicorn", process=web)


def start_embedded(
    stack: contextlib.ExitStack, tmp: Path, args: argparse.Namespace, challenge: str
) -> Certportal:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    data = tmp / "embedded-data"
    env = base_env(
        {
            "DJANGO_SETTINGS_MODULE": "portal.settings.local",
            "CERTPORTAL_DATA_DIR": str(data),
            "CERTPORTAL_BASE_URL": base,
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
            **_rate_env(args),
            **({"CERTPORTAL_SCEP_ISSUE_WAIT": str(args.issue_wait)} if args.issue_wait is not None else {}),
        },
        args,
    )
    log("embedded: migrate + demo PKI (SQLite) ...")
    _setup_pki(env, challenge)
    web = Managed.start(
        "gunicorn", _gunicorn_argv(port, args), env=env, log_path=tmp / "embedded-gunicorn.log"
    )
    stack.callback(web.stop)
    _wait_web(web, base)
    db_path = data / "db.sqlite3"

    def query(pattern: str) -> list[Sequence[Any]]:
        with contextlib.closing(sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=30)) as conn:
            return conn.execute(BREAKDOWN_SQL.format(placeholder="?"), (pattern,)).fetchall()

    return Certportal("embedded", f"{base}/scep/{SERVICE_SLUG}", web, None, query, [web])


def start_production(
    stack: contextlib.ExitStack, tmp: Path, args: argparse.Namespace, challenge: str
) -> Certportal:
    psycopg2 = load_psycopg2()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    db = args.pg_db
    redis_url = own_database_and_redis(stack, args)
    queue = f"bench-ca-{secrets.token_hex(4)}"
    env = base_env(
        {
            "DJANGO_SETTINGS_MODULE": "portal.settings.production",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(40),
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
            "DATABASE_URL": f"postgres://{args.pg_user}@{args.pg_host}:{args.pg_port}/{db}",
            "REDIS_URL": redis_url,
            "CERTPORTAL_CA_QUEUE": queue,
            "CERTPORTAL_DEFAULT_QUEUE": f"{queue}-default",
            "CERTPORTAL_DATA_DIR": str(tmp / "production-data"),
            "CERTPORTAL_BASE_URL": base,
            **_rate_env(args),
            **({"CERTPORTAL_SCEP_ISSUE_WAIT": str(args.issue_wait)} if args.issue_wait is not None else {}),
        },
        args,
    )
    ca_pass, ra_pass = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    log(f"production: migrate + demo PKI (PostgreSQL {db}, Redis DB {args.redis_db}, queue {queue}) ...")
    # Setup only: one process with both passphrases and tasks in process (init_ca/init_ra as on the CA
    # worker). The processes measured below each get only their own passphrase.
    _setup_pki(
        {
            **env,
            "CERTPORTAL_CA_KEY_PASSPHRASE": ca_pass,
            "CERTPORTAL_RA_KEY_PASSPHRASE": ra_pass,
            "CELERY_TASK_ALWAYS_EAGER": "true",
        },
        challenge,
    )
    worker_argv = [CELERY, "-A", "portal", "worker", "-Q", queue, "-n", f"{queue}@%h", "-l", "INFO"]
    if args.celery_pool:
        worker_argv += ["-P", args.celery_pool]
    if args.celery_concurrency:
        worker_argv += ["-c", str(args.celery_concurrency)]
    worker = Managed.start(
        "ca-worker",
        worker_argv,
        env={**env, "CERTPORTAL_CA_KEY_PASSPHRASE": ca_pass},
        log_path=tmp / "production-ca-worker.log",
    )
    stack.callback(worker.stop)
    web = Managed.start(
        "gunicorn",
        _gunicorn_argv(port, args),
        env={**env, "CERTPORTAL_RA_KEY_PASSPHRASE": ra_pass},
        log_path=tmp / "production-gunicorn.log",
    )
    stack.callback(web.stop)
    wait_until(lambda: "ready." in worker.log_text(), "the CA worker", process=worker)
    _wait_web(web, base)
    dsn = f"host={args.pg_host} port={args.pg_port} user={args.pg_user} dbname={db}"

    def query(pattern: str) -> list[Sequence[Any]]:
        conn = psycopg2.connect(dsn)
        try:
            with conn.cursor() as cursor:
                cursor.execute(BREAKDOWN_SQL.format(placeholder="%s"), (pattern,))
                rows: list[Sequence[Any]] = cursor.fetchall()
                return rows
        finally:
            conn.close()

    return Certportal("production", f"{base}/scep/{SERVICE_SLUG}", web, worker, query, [web, worker])


def certportal_target(
    kind: str, args: argparse.Namespace, keys: Sequence[bytes], stamp: str
) -> dict[str, Any]:
    challenge = secrets.token_urlsafe(12)
    with contextlib.ExitStack() as stack:
        tmp = Path(tempfile.mkdtemp(prefix=f"scep-bench-{kind}-"))
        if not args.keep_tmp:
            stack.callback(shutil.rmtree, tmp, ignore_errors=True)
        else:
            log(f"{kind}: temporary files kept in {tmp}")
        starter = start_embedded if kind == "embedded" else start_production
        portal = starter(stack, tmp, args, challenge)
        spec = spec_from_args(
            kind, portal.url, challenge, args, cipher="AES256_CBC", digest="SHA256", legacy=False
        )
        spec.profile_n = args.n if args.profile else 0
        result = run_workload(spec, keys, portal.hooks(args, stamp))
        result["setup"] = {
            "gunicorn": " ".join(_gunicorn_argv(0, args)[1:]).replace("127.0.0.1:0", "127.0.0.1:<port>"),
            "ca_worker": "celery -A portal worker -Q <queue>"
            + (f" -P {args.celery_pool}" if args.celery_pool else "")
            + (f" -c {args.celery_concurrency}" if args.celery_concurrency else "")
            if kind == "production"
            else None,
            "database": "SQLite (WAL)" if kind == "embedded" else "PostgreSQL",
            "tasks": "in process (CELERY_TASK_ALWAYS_EAGER)" if kind == "embedded" else "Celery over Redis",
            "rate_limit_per_client": "default" if args.keep_rate_limits else "1000000/min",
        }
        return result
