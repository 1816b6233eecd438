"""Settings for the test suite.

Tests use PostgreSQL when DATABASE_URL is set (CI does) and a file-backed SQLite otherwise (so that
the real processes some tests start, gunicorn and celery, see the same test database). Tasks run in
process exactly as in the embedded default (``EMBEDDED_CELERY``), even when CI sets REDIS_URL; the
tests that exercise the production topology start their own CA worker with its own environment.
"""

import os
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit


def _xdist_isolate() -> None:
    """Under pytest-xdist (``./dev test`` runs two workers), each worker gets its own data directory and
    its own Redis database, in the environment, before the settings read it: the real processes some tests
    start (gunicorn, the CA worker) inherit both, so one worker's heartbeats, queues and files never reach
    the other's tests. pytest-django gives each worker its own test database.
    """
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if not worker.startswith("gw") or os.environ.get("CERTPORTAL_XDIST_ISOLATED") == worker:
        return
    index = int(worker[2:])
    base = Path(os.environ.get("CERTPORTAL_DATA_DIR") or Path(__file__).resolve().parents[2] / "var")
    os.environ["CERTPORTAL_DATA_DIR"] = str(base / f"xdist-{worker}")
    redis_url = os.environ.get("REDIS_URL", "")
    if redis_url:
        parts = urlsplit(redis_url)
        database = int(parts.path.strip("/") or 0)
        # gw0 keeps the given database, gw1 the one below it, ... (CI: 15, 14).
        os.environ["REDIS_URL"] = urlunsplit(parts._replace(path=f"/{(database - index) % 16}"))
    os.environ["CERTPORTAL_XDIST_ISOLATED"] = worker


_xdist_isolate()

from portal.settings.base import *  # noqa: E402, F403
from portal.settings.base import DATA_DIR, DATABASES, EMBEDDED_CELERY  # noqa: E402

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
globals().update(EMBEDDED_CELERY)
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / "test-db.sqlite3")}

CERTPORTAL_CA_KEY_PASSPHRASE = "test-ca-passphrase"  # noqa: S105
CERTPORTAL_RA_KEY_PASSPHRASE = "test-ra-passphrase"  # noqa: S105
CERTPORTAL_OCSP_KEY_PASSPHRASE = "test-ocsp-passphrase"  # noqa: S105
CERTPORTAL_SCEP_ISSUE_WAIT = 5.0
CERTPORTAL_NDES_TEST_PAGE = False  # the production answer (403); the page's tests turn it on
REST_FRAMEWORK = {**REST_FRAMEWORK}  # noqa: F405
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] = {"scep_client": "100000/min", "scep_global": "1000000/min"}
