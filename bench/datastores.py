"""PostgreSQL and Redis for the production target: the run's own database (created, then dropped) and Redis
DB (checked empty, then flushed).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import re
from typing import Any

import redis

from bench.runtime import BenchError


def datastore_arguments(parser: argparse.ArgumentParser, *, pg_db: str, pg_db_help: str, redis_db: int,
                        redis_db_help: str) -> None:  # fmt: skip
    """The options that ``own_database_and_redis`` reads: where PostgreSQL and Redis are, and the run's own
    database and Redis DB.
    """
    parser.add_argument("--pg-host", default="127.0.0.1")
    parser.add_argument("--pg-port", type=int, default=5432)
    parser.add_argument("--pg-user", default="postgres")
    parser.add_argument("--pg-db", default=pg_db, help=pg_db_help)
    parser.add_argument("--redis-host", default="127.0.0.1")
    parser.add_argument("--redis-port", type=int, default=6379)
    parser.add_argument("--redis-db", type=int, default=redis_db, help=redis_db_help)


def datastore_arguments_check(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if args.redis_db in (0, 15):
        parser.error("--redis-db 0 and 15 are used by others")


def load_psycopg2() -> Any:
    """psycopg2 (in the project's requirements), typed loosely: its stubs are not a project dependency."""
    return importlib.import_module("psycopg2")


def own_database_and_redis(stack: contextlib.ExitStack, args: argparse.Namespace) -> str:
    """Create the benchmark's PostgreSQL database (dropped on exit) and check its Redis DB is empty
    (flushed on exit). Returns the Redis URL.
    """
    psycopg2 = load_psycopg2()
    admin_dsn = f"host={args.pg_host} port={args.pg_port} user={args.pg_user} dbname=postgres"
    db = args.pg_db
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", db):
        raise BenchError(f"--pg-db {db!r}: use lower-case letters, digits and _")

    def admin(sql: str) -> None:
        conn = psycopg2.connect(admin_dsn)
        try:
            conn.autocommit = True
            with conn.cursor() as cursor:
                cursor.execute(sql)
        finally:
            conn.close()

    admin(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
    admin(f"CREATE DATABASE {db}")
    stack.callback(lambda: admin(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)"))
    redis_url = f"redis://{args.redis_host}:{args.redis_port}/{args.redis_db}"
    client = redis.Redis.from_url(redis_url)
    if client.dbsize():
        raise BenchError(
            f"Redis DB {args.redis_db} is not empty; choose another with --redis-db (not 0 or 15)"
        )
    stack.callback(client.flushdb)  # it was empty: everything in it is ours
    return redis_url
