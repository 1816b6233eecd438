"""Production settings: everything from the environment, nothing generated behind the operator's back.

Secure by default (``manage.py check --deploy`` is clean; portal/tests/test_production_settings.py):
HTTPS for everything but the plain-HTTP paths of devices and relying parties (``SECURE_REDIRECT_EXEMPT``
in base.py: SCEP, CRLs, CA certificates, OCSP, the health check), HSTS, Secure cookies. Behind a
TLS-terminating proxy set ``DJANGO_BEHIND_PROXY`` so that its X-Forwarded-Proto is believed. Each setting
has its environment variable (README, "Production").
"""

from django.core.exceptions import ImproperlyConfigured

from portal.env import env
from portal.settings.base import *  # noqa: F403

if not env.str("DJANGO_SECRET_KEY", default=""):
    raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set in production")
if not env.str("DATABASE_URL", default=""):
    raise ImproperlyConfigured("DATABASE_URL must be set in production (PostgreSQL)")

DEBUG = False
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
SESSION_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", default=True)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
#: One year. Sent on HTTPS responses only; devices, CRL and OCSP clients do not read it.
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=365 * 24 * 3600)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
#: Preloading binds the whole domain to HTTPS in every browser for months: the operator's decision.
SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=False)
if not SECURE_HSTS_PRELOAD:
    SILENCED_SYSTEM_CHECKS = ["security.W021"]  # "SECURE_HSTS_PRELOAD is not True": on purpose
