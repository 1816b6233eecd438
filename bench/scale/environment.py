"""The run's own installation: a PostgreSQL database and Redis DB (bench/datastores.py), a data directory for
the generated secrets, Django configured in this process, migrated, with the demo PKI of ``demo_setup``.

Tasks run in this process (``CELERY_TASK_ALWAYS_EAGER``, as in the embedded default), so the CA-side services
(``crl_generate``, the OCSP responders' certificates) run here too; Redis is the cache (throttles), as in
production.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import shutil
import tempfile
from pathlib import Path

import redis

import django
from django.core.management import call_command

from bench.datastores import own_database_and_redis
from bench.runtime import log

__all__ = ["ISSUING_CA", "TEMPLATE", "installation"]

ISSUING_CA = "demo-issuing"
TEMPLATE = "CertportalDemo"


def _environment(args: argparse.Namespace, data_dir: Path, redis_url: str) -> dict[str, str]:
    return {
        "DJANGO_SETTINGS_MODULE": "portal.settings.local",
        "DATABASE_URL": f"postgres://{args.pg_user}@{args.pg_host}:{args.pg_port}/{args.pg_db}",
        "REDIS_URL": redis_url,
        # Tasks in process: the CA side (CRLs, the OCSP responders' certificates) runs here.
        "CELERY_TASK_ALWAYS_EAGER": "true",
        "CERTPORTAL_DATA_DIR": str(data_dir),
        "CERTPORTAL_BASE_URL": "http://localhost:8000",
        "DJANGO_ALLOWED_HOSTS": "testserver,127.0.0.1,localhost",
        # One line per CRL, check-in or import chunk would flood the terminal; warnings still show.
        "DJANGO_LOG_LEVEL": "WARNING",
        "DJANGO_DEBUG": "false",
    }


def installation(stack: contextlib.ExitStack, args: argparse.Namespace) -> None:
    """Create the database (dropped when ``stack`` closes, unless ``--keep``), configure and set up Django
    in this process, migrate and run ``demo_setup``.
    """
    for name in list(os.environ):
        if name.startswith(("CERTPORTAL_", "DJANGO_", "CELERY_", "GUNICORN_")) or name in (
            "DATABASE_URL",
            "REDIS_URL",
        ):
            del os.environ[name]
    owned = contextlib.ExitStack()
    redis_url = own_database_and_redis(owned, args)
    if args.keep:
        owned.pop_all()  # the database stays; the Redis DB (cache only) is still flushed
        stack.callback(redis.Redis.from_url(redis_url).flushdb)
        log(f"--keep: database {args.pg_db} stays after the run")
    else:
        stack.enter_context(owned)
    data_dir = Path(tempfile.mkdtemp(prefix="cp-scale-"))
    stack.callback(shutil.rmtree, data_dir, ignore_errors=True)
    os.environ.update(_environment(args, data_dir, redis_url))

    django.setup()
    log(f"migrating {args.pg_db} ...")
    call_command("migrate", verbosity=0)
    log("demo PKI (manage.py demo_setup) ...")
    call_command("demo_setup", "--quiet", verbosity=0, stdout=io.StringIO())
