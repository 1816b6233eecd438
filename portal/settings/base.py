"""Settings shared by every environment; everything configurable comes from the environment.

Embedded default (nothing set): SQLite in ``var/``, Celery tasks run in process, a generated secret
key and generated key passphrases kept in ``var/secrets/``. With ``DATABASE_URL`` and ``REDIS_URL``
set, PostgreSQL and a real Celery broker are used, and each process gets only the secrets it needs
(the web tier has no CA key passphrase; see docs/architecture.md).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from audit.conf import AuditSettings
from ca.conf import CaSettings
from core.conf import SettingsModel
from core.rates import rate_parse
from notifications.conf import NotificationsSettings
from portal.env import (
    BASE_DIR,
    data_dir_make_private,
    env,
    env_overrides,
    local_secret,
    serve_address,
    serve_base_url,
    serve_host_name,
)
from profiles.conf import ProfilesSettings

# --- Paths and embedded-default secrets -------------------------------------------------------------

DATA_DIR = Path(env.str("CERTPORTAL_DATA_DIR", default=str(BASE_DIR / "var")))
SECRETS_DIR = DATA_DIR / "secrets"

#: True when no external services are configured: one process, SQLite, tasks in process.
EMBEDDED = not env.str("DATABASE_URL", default="") and not env.str("REDIS_URL", default="")

SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="") or local_secret(SECRETS_DIR, "secret_key")
DEBUG = env.bool("DJANGO_DEBUG", default=False)
#: Where the embedded server (``./dev serve``) listens: HOST and PORT. Unless CERTPORTAL_BASE_URL is set, the
#: portal's base URL follows them (below): what demo_setup prints and what the CAs put in CRL and AIA URLs.
SERVE_HOST, SERVE_PORT = serve_address()
_LOCAL_HOSTS = list(dict.fromkeys(["127.0.0.1", "localhost", serve_host_name(SERVE_HOST)]))
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=_LOCAL_HOSTS)
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

# --- Applications -----------------------------------------------------------------------------------

INSTALLED_APPS = [
    "portal.apps.CertportalAdminConfig",  # django.contrib.admin with certportal's site (portal/admin_site.py)
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "knox",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "portal",
    "eventlog",
    "ca",
    "directory",
    "profiles",
    "enrollment",
    "notifications",
    "access",
    # django-auditlog before the audit app: the audit app replaces the library's admin of the entries.
    "auditlog",
    "audit",
]

MIDDLEWARE = [
    "portal.middleware.RequestIdMiddleware",  # first: every log line of the request carries its id
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "audit.middleware.AuditActorMiddleware",
    "portal.middleware.RequesterMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------------------------------

SQLITE_PATH = DATA_DIR / "db.sqlite3"
if env.str("DATABASE_URL", default=""):
    DATABASES: dict[str, dict[str, Any]] = {"default": env.db_url("DATABASE_URL")}
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DJANGO_CONN_MAX_AGE", default=60))
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
else:
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": SQLITE_PATH,
            "OPTIONS": {
                # WAL + IMMEDIATE: concurrent readers while one writer commits; no "database is locked"
                # on the read-then-write transactions the services use.
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
            },
            # Reuse connections: opening one (and running the pragmas) per request cost 10 % of the
            # embedded default's throughput (docs/benchmarks.md).
            "CONN_MAX_AGE": 600,
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache (DRF throttling, the SCEP RA cache) ----------------------------------------------------

REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES: dict[str, dict[str, Any]] = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Auth, i18n, static -----------------------------------------------------------------------------

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "admin:login"
LOGIN_REDIRECT_URL = "portal:dashboard"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env.str("DJANGO_STATIC_ROOT", default=str(DATA_DIR / "staticfiles")))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise warns about a missing root before collectstatic
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Serve static files straight from the finders too, so that a fresh checkout works before
# collectstatic has run (the embedded default and the tests).
WHITENOISE_USE_FINDERS = True

# --- Mail (the notices) ------------------------------------------------------------------------------
# EMAIL_URL as django-environ reads it: smtp+tls://user:password@mail.example.com:587, smtps://...:465;
# the embedded default writes mail to the console.
vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env.str("DJANGO_DEFAULT_FROM_EMAIL", default="certportal@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Security: headers, cookies, HTTPS, the data directory, failed logins ---------------------------
# portal/settings/production.py turns HTTPS on (redirect, HSTS, Secure cookies); README "Production".

SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = env.str("DJANGO_SECURE_REFERRER_POLICY", default="same-origin")
SESSION_COOKIE_HTTPONLY = True
#: Only behind a TLS-terminating reverse proxy that sets X-Forwarded-Proto (and drops a client's own) may
#: that header say a request came over HTTPS.
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if env.bool("DJANGO_BEHIND_PROXY", False) else None
)
SESSION_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", default=False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
#: What devices and relying parties fetch over plain HTTP, never redirected to HTTPS when
#: SECURE_SSL_REDIRECT is on: SCEP clients often speak HTTP only (the messages are signed and encrypted),
#: CRLs, CA certificates (AIA) and OCSP are served over HTTP by convention (RFC 5280 8, RFC 6960 A.1: a
#: relying party checking a server's TLS certificate cannot need TLS for it), and the health check.
#: Patterns match the path without its leading slash.
SECURE_REDIRECT_EXEMPT = [
    r"^scep(/|$)",
    r"^certsrv/mscep/",
    r"^cgi-bin/pkiclient\.exe$",
    r"^crl/",
    r"^ca/",
    r"^ocsp/",
    r"^healthz$",
    r"^readyz$",
    r"^metrics$",  # scraped over the internal network (README, "Monitoring")
    *env.list("DJANGO_SECURE_REDIRECT_EXEMPT", default=[]),
]

#: The embedded default's SQLite database (API tokens, sessions, the encrypted CA, RA and OCSP keys) and
#: generated secrets: every file 0600 and directory 0700, the ones already there too (portal/env.py).
if not env.str("DATABASE_URL", default=""):
    data_dir_make_private(DATA_DIR)

#: Failed password logins (django-axes, portal/lockout.py): CERTPORTAL_LOGIN_RATE failures of one username
#: or from one address within its window lock that username or address out (429) until the window has
#: passed since the last failure, whatever password is tried meanwhile. Axes' middleware comes last.
INSTALLED_APPS = [*INSTALLED_APPS, "axes"]
MIDDLEWARE = [*MIDDLEWARE, "axes.middleware.AxesMiddleware"]
AUTHENTICATION_BACKENDS = [
    "portal.lockout.LoginLockoutBackend",
    "django.contrib.auth.backends.ModelBackend",
]
_LOGIN_RATE = rate_parse(env.str("CERTPORTAL_LOGIN_RATE", default="5/15m"))
AXES_FAILURE_LIMIT = _LOGIN_RATE.limit
AXES_COOLOFF_TIME = timedelta(seconds=_LOGIN_RATE.seconds)
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_CLIENT_IP_CALLABLE = "portal.lockout.client_ip"
AXES_LOCKOUT_CALLABLE = "portal.lockout.lockout_response"
AXES_VERBOSE = False  # no banner at every start; failures and lockouts are still logged
# A device's SCEP request can be a long URL (GET PKIOperation); Django's own limits are on bodies.
DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024

# --- REST API ---------------------------------------------------------------------------------------

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "access.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["portal.api.permissions.ModelPermissions"],
    # DRF's JSON parser, but JSON nested deeper than Python parses is a 400, not a 500.
    "DEFAULT_PARSER_CLASSES": [
        "core.parsers.SafeJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "portal.api.exceptions.exception_handler",
    # Proxies in front of the portal whose X-Forwarded-For is trusted for client addresses (rate limits);
    # 0: use the TCP peer, so that a client cannot pick its own identity with the header.
    "NUM_PROXIES": env.int("CERTPORTAL_NUM_PROXIES", default=0),
    "DEFAULT_THROTTLE_RATES": {
        "scep_client": env.str("CERTPORTAL_SCEP_RATE_PER_CLIENT", default="120/min"),
        "scep_global": env.str("CERTPORTAL_SCEP_RATE_GLOBAL", default="6000/min"),
        # Check-ins per device and payloads handed out per user; their defaults live on the throttles
        # (profiles/api/views.py), a rate set here is checked now.
        **{
            scope: rate
            for scope, name in (
                ("checkin", "CERTPORTAL_CHECKIN_RATE"),
                ("payload", "CERTPORTAL_PAYLOAD_RATE"),
            )
            if (rate := env.str(name, default="")) and rate_parse(rate)
        },
    },
}

# API tokens: django-rest-knox's hashed tokens in access.ApiToken (name, expiry, scopes), sent as
# "Authorization: Token <token>"; the lifetime is the creator's choice within CERTPORTAL_API_TOKEN_MAX_DAYS.
KNOX_TOKEN_MODEL = "access.ApiToken"  # noqa: S105 - a model name, not a secret
REST_KNOX = {"AUTH_HEADER_PREFIX": "Token", "TOKEN_TTL": None, "AUTO_REFRESH": False}
# knox's own AuthToken is swapped out for access.ApiToken: its migrations would still create a table (with a
# foreign key to auth_user that blocks TRUNCATE on PostgreSQL); without migrations nothing is created.
MIGRATION_MODULES = {"knox": None}

SPECTACULAR_SETTINGS = {
    "TITLE": "certportal API",
    "DESCRIPTION": (
        "Certificate authorities, certificate templates, issued certificates, directory, SCEP and "
        "trusted-root profiles, assignments and device check-in."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v[0-9]+",
    "ENUM_NAME_OVERRIDES": {
        "RevocationReasonEnum": "ca.choices.RevocationReason",
        "PlatformEnum": "directory.models.Platform",
        "DeviceStateEnum": "directory.models.DeviceState",
        "GroupKindEnum": "directory.models.GroupKind",
        "CertificateStateEnum": "profiles.choices.CertificateState",
    },
}

# --- Celery -----------------------------------------------------------------------------------------

#: The embedded default: no broker, so every task runs in the calling process (the same code path as on
#: the workers). The test settings use exactly this.
EMBEDDED_CELERY: dict[str, Any] = {
    "CELERY_BROKER_URL": "memory://localhost/",
    "CELERY_RESULT_BACKEND": None,
    "CELERY_TASK_ALWAYS_EAGER": True,
}
_EMBEDDED_BROKER = EMBEDDED_CELERY["CELERY_BROKER_URL"]
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="") or REDIS_URL or _EMBEDDED_BROKER
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default="") or REDIS_URL or None
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=_EMBEDDED_BROKER == CELERY_BROKER_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_DEFAULT_QUEUE = env.str("CERTPORTAL_DEFAULT_QUEUE", default="default")
#: Every operation with a CA private key goes to the ``ca`` queue, served only by the CA worker
#: (``celery -A portal worker -Q ca``). The name can be changed, e.g. to run two installations on one broker.
CA_QUEUE = env.str("CERTPORTAL_CA_QUEUE", default="ca")
CELERY_TASK_ROUTES = {"ca.tasks.*": {"queue": CA_QUEUE}}
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 120
CELERY_TASK_SOFT_TIME_LIMIT = 100
CELERY_RESULT_EXPIRES = 3600
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
#: Keep the worker's database connection across tasks (Celery's Django fix-up otherwise reconnects for
#: every task: about 6 ms per certificate on PostgreSQL, docs/benchmarks.md).
CELERY_DB_REUSE_MAX = env.int("CELERY_DB_REUSE_MAX", default=1000)


def _beat_interval(model: type[SettingsModel], name: str) -> float:
    """A beat interval that is an app's typed setting: the environment's value, validated by the app's
    model, or the model's default (the defaults live there only).
    """
    setting = f"CERTPORTAL_{name}"
    values = {name: value} if (value := env_overrides(setting).get(setting)) else {}
    return float(getattr(model.model_validate(values), name))


CELERY_BEAT_SCHEDULE = {
    "crl-refresh": {"task": "ca.tasks.crl_refresh_task", "schedule": 15 * 60.0},
    "device-certificate-sweep": {
        "task": "profiles.jobs.device_certificate_sweep_task",
        "schedule": _beat_interval(ProfilesSettings, "CERTIFICATE_SWEEP_INTERVAL"),
    },
    "certificate-expiry-notify": {
        "task": "notifications.jobs.certificate_expiry_notify_task",
        "schedule": _beat_interval(NotificationsSettings, "NOTIFY_EXPIRY_INTERVAL"),
    },
    "enrollment-failure-notify": {
        "task": "notifications.jobs.enrollment_failure_notify_task",
        "schedule": _beat_interval(NotificationsSettings, "NOTIFY_FAILURE_INTERVAL"),
    },
    "certificate-request-sweep": {
        "task": "ca.jobs.certificate_request_sweep_task",
        "schedule": _beat_interval(CaSettings, "REQUEST_SWEEP_INTERVAL"),
    },
    "registration-authority-renewal": {
        "task": "enrollment.jobs.registration_authority_renew_task",
        "schedule": 60 * 60.0,
    },
    "ocsp-responder-refresh": {"task": "ca.jobs.ocsp_responder_refresh_task", "schedule": 15 * 60.0},
    "scep-transaction-prune": {
        "task": "enrollment.jobs.scep_transaction_prune_task",
        "schedule": 24 * 60 * 60.0,
    },
    "event-prune": {"task": "eventlog.jobs.event_prune_task", "schedule": 24 * 60 * 60.0},
    "directory-import-job-sweep": {"task": "directory.jobs.import_job_sweep_task", "schedule": 60.0},
    "audit-seal": {
        "task": "audit.jobs.audit_seal_task",
        "schedule": _beat_interval(AuditSettings, "AUDIT_SEAL_INTERVAL"),
    },
    "server-certificate-renewal": {"task": "ca.jobs.server_certificate_renew_task", "schedule": 60 * 60.0},
    "ca-rollover-switch": {"task": "portal.jobs.ca_rollover_switch_due_task", "schedule": 60.0},
}

# --- certportal ---------------------------------------------------------------------------------------
# The apps' settings are typed and validated, with their defaults, in ca/conf.py, enrollment/conf.py,
# profiles/conf.py and notifications/conf.py; here the environment (or the embedded default) overrides them.

globals().update(
    env_overrides(
        "CERTPORTAL_BASE_URL",
        "CERTPORTAL_REQUEST_REDISPATCH_AFTER",
        "CERTPORTAL_REQUEST_SWEEP_INTERVAL",
        "CERTPORTAL_REVOKE_WAIT",
        "CERTPORTAL_SCEP_ISSUE_WAIT",
        "CERTPORTAL_SCEP_MAX_WAITING",
        "CERTPORTAL_SCEP_SLOT_WAIT",
        "CERTPORTAL_SCEP_MAX_MESSAGE_SIZE",
        "CERTPORTAL_SCEP_MAX_CLOCK_SKEW",
        "CERTPORTAL_CHALLENGE_TTL_MINUTES",
        "CERTPORTAL_RA_RENEWAL_THRESHOLD",
        "CERTPORTAL_PROFILE_ANY_SAN_TYPE",
        "CERTPORTAL_CERTIFICATE_SWEEP_INTERVAL",
        "CERTPORTAL_NOTIFY_EMAILS",
        "CERTPORTAL_NOTIFY_WEBHOOK_URL",
        "CERTPORTAL_NOTIFY_WEBHOOK_SECRET",
        "CERTPORTAL_NOTIFY_TIMEOUT",
        "CERTPORTAL_NOTIFY_EXPIRY_WINDOW_DAYS",
        "CERTPORTAL_NOTIFY_EXPIRY_INTERVAL",
        "CERTPORTAL_NOTIFY_FAILURE_INTERVAL",
        "CERTPORTAL_OCSP_RESPONDER_VALIDITY_DAYS",
        "CERTPORTAL_OCSP_RESPONSE_VALIDITY",
        "CERTPORTAL_EVENT_RETENTION_DAYS",
        "CERTPORTAL_AUDIT_SEAL_INTERVAL",
        "CERTPORTAL_AUDIT_SEAL_DELAY",
        "CERTPORTAL_IMPORT_CHUNK_SIZE",
        "CERTPORTAL_IMPORT_JOB_REDISPATCH_AFTER",
        "CERTPORTAL_SCEP_REFUSED_RETENTION_DAYS",
        "CERTPORTAL_SCEP_PENDING_MAX_PER_ADDRESS",
        "CERTPORTAL_SCEP_PENDING_MAX_PER_SUBJECT",
        "CERTPORTAL_SCEP_PENDING_MAX_PER_SERVICE",
        "CERTPORTAL_API_TOKEN_DEFAULT_DAYS",
        "CERTPORTAL_API_TOKEN_MAX_DAYS",
        "CERTPORTAL_TLS_RENEWAL_THRESHOLD",
        "CERTPORTAL_CA_HEARTBEAT_INTERVAL",
        "CERTPORTAL_RATE_LIMIT_WHEN_STORE_DOWN",
        "CERTPORTAL_METRICS_TOKEN",
        "CERTPORTAL_METRICS_ALLOWED_NETWORKS",
        "CERTPORTAL_METRICS_PORT",
        "CERTPORTAL_EVENT_SYSLOG",
    )
)
if not env.str("CERTPORTAL_BASE_URL", default=""):
    CERTPORTAL_BASE_URL = serve_base_url(SERVE_HOST, SERVE_PORT)
CERTPORTAL_CA_QUEUE = CA_QUEUE
#: The NDES test page for a browser at a SCEP path without an operation: on in the embedded default;
#: otherwise 403, as NDES answers once the Intune connector is installed (enrollment/conf.py).
CERTPORTAL_NDES_TEST_PAGE = env.str("CERTPORTAL_NDES_TEST_PAGE", default="") or EMBEDDED

#: Passphrase of CA private keys. Only the CA worker needs it (and the single embedded process).
CERTPORTAL_CA_KEY_PASSPHRASE = env.str("CERTPORTAL_CA_KEY_PASSPHRASE", default="") or (
    local_secret(SECRETS_DIR, "ca_key_passphrase") if CELERY_TASK_ALWAYS_EAGER else ""
)
#: Passphrase of the SCEP RA private keys. Only the web tier (the RA) needs it, and the default worker, which
#: renews RA certificates (enrollment.jobs); never the CA worker.
CERTPORTAL_RA_KEY_PASSPHRASE = env.str("CERTPORTAL_RA_KEY_PASSPHRASE", default="") or (
    local_secret(SECRETS_DIR, "ra_key_passphrase") if EMBEDDED or CELERY_TASK_ALWAYS_EAGER else ""
)
#: Passphrase of the OCSP responder keys. Only the RA side needs it: the web tier (signs OCSP responses)
#: and the default worker (its beat job writes renewed responder keys); never the CA worker.
CERTPORTAL_OCSP_KEY_PASSPHRASE = env.str("CERTPORTAL_OCSP_KEY_PASSPHRASE", default="") or (
    local_secret(SECRETS_DIR, "ocsp_key_passphrase") if EMBEDDED or CELERY_TASK_ALWAYS_EAGER else ""
)

#: Where CA private keys live, like Django's STORAGES: an alias per backend.
CERTPORTAL_KEY_BACKENDS = {
    "default": {
        "BACKEND": env.str("CERTPORTAL_KEY_BACKEND", default="ca.key_backends.db.DatabaseKeyBackend"),
        "OPTIONS": {"directory": env.str("CERTPORTAL_KEY_DIR", default=str(DATA_DIR / "keys"))},
    },
}
#: CA keys in an HSM: the "pkcs11" backend (``init_ca --key-backend pkcs11``), with its PKCS#11 library and
#: default token; the PIN only in the CA worker's environment, as the CA key passphrase.
if env.str("CERTPORTAL_PKCS11_MODULE", default=""):
    CERTPORTAL_KEY_BACKENDS["pkcs11"] = {
        "BACKEND": "ca.key_backends.pkcs11.Pkcs11KeyBackend",
        "OPTIONS": {
            "module": env.str("CERTPORTAL_PKCS11_MODULE"),
            "token": env.str("CERTPORTAL_PKCS11_TOKEN", default=""),
        },
    }
CERTPORTAL_PKCS11_PIN = env.str("CERTPORTAL_PKCS11_PIN", default="")

#: The portal's own TLS server certificate (``manage.py tls_certificate``, renewed by beat), as PEM files
#: that the TLS front reads (deploy/nginx/).
CERTPORTAL_TLS_DIR = env.str("CERTPORTAL_TLS_DIR", default=str(DATA_DIR / "tls"))

#: The last CRL and CA certificates the web tier served, kept to serve them while the database is down.
CERTPORTAL_PUBLISHED_DIR = env.str("CERTPORTAL_PUBLISHED_DIR", default=str(DATA_DIR / "published"))

#: Who follows directory changes (directory.observers): the profiles app revokes what no longer applies.
CERTPORTAL_DIRECTORY_OBSERVERS = ["profiles.assignment_reconciler.AssignmentReconciler"]

#: Who follows revocations (ca.observers): the device certificate states of the profiles app.
CERTPORTAL_CERTIFICATE_OBSERVERS = ["profiles.certificate_observer.DeviceCertificateObserver"]

#: Who is told before the event log's retention job deletes events: the audit log's hash chain keeps an
#: anchor, so that audit_verify still verifies what remains.
CERTPORTAL_EVENT_PRUNE_OBSERVERS = ["audit.services.pruning.EventChainKeeper"]

# --- Audit log (django-auditlog, into audit.AuditEntry; what is audited: audit/registration.py) -----------
AUDITLOG_LOGENTRY_MODEL = "audit.AuditEntry"
#: Before and after values as JSON values (numbers, booleans, lists), not their text.
AUDITLOG_STORE_JSON_CHANGES = True
#: One correlation id per request, command or task (audit.context), not a client's header.
AUDITLOG_CID_GETTER = "audit.context.correlation_id"
#: The audit app's middleware records the TCP peer; the library's would trust X-Forwarded-For.
AUDITLOG_DISABLE_REMOTE_ADDR = True
#: django-auditlog's migrations create only its own LogEntry table, which is swapped out here (kept with
#: any other app's entry set above).
MIGRATION_MODULES = {**globals().get("MIGRATION_MODULES", {}), "auditlog": None}

#: Who may enroll, tried in order: the profiles app's per-device one-time challenges, then the SCEP
#: service's static challenge (if it has one).
CERTPORTAL_CHALLENGE_VERIFIERS = [
    "profiles.scep_verifier.OneTimeChallengeVerifier",
    "enrollment.verifiers.static.StaticChallengeVerifier",
]

#: Log lines as text (the embedded default) or as one JSON object a line (compose, for a log shipper): time,
#: level, logger, message, the request id that follows a request into the Celery workers (core.request_ids)
#: and, on an exception, its traceback.
CERTPORTAL_LOG_FORMAT = env.str("CERTPORTAL_LOG_FORMAT", default="text").strip().lower()
if CERTPORTAL_LOG_FORMAT not in {"text", "json"}:
    raise ImproperlyConfigured(f"CERTPORTAL_LOG_FORMAT must be text or json, not {CERTPORTAL_LOG_FORMAT!r}")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "core.request_ids.RequestIdFilter"}},
    "formatters": {
        "text": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(levelname)s %(name)s %(message)s %(request_id)s %(process)d",
            "rename_fields": {"levelname": "level", "name": "logger", "process": "pid"},
            "timestamp": "time",  # ISO 8601, UTC
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": CERTPORTAL_LOG_FORMAT,
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": env.str("DJANGO_LOG_LEVEL", default="INFO")},
    "loggers": {"django.server": {"level": "WARNING"}},
}
#: The Celery workers log through LOGGING too (the format above, with the task's request id), not through
#: Celery's own root handler.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
