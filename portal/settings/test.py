"""Settings for the test suite.

Tests use PostgreSQL when DATABASE_URL is set (CI does) and a file-backed SQLite otherwise (so that
the real processes some tests start, gunicorn and celery, see the same test database). Tasks run in
process exactly as in the embedded default (``EMBEDDED_CELERY``), even when CI sets REDIS_URL; the
tests that exercise the production topology start their own CA worker with its own environment.
"""

from portal.settings.base import *  # noqa: F403
from portal.settings.base import DATA_DIR, DATABASES, EMBEDDED_CELERY

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
