"""Production settings: everything from the environment, nothing generated behind the operator's back."""

from django.core.exceptions import ImproperlyConfigured

from portal.env import env
from portal.settings.base import *  # noqa: F403

if not env.str("DJANGO_SECRET_KEY", default=""):
    raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set in production")
if not env.str("DATABASE_URL", default=""):
    raise ImproperlyConfigured("DATABASE_URL must be set in production (PostgreSQL)")

DEBUG = False
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=False)
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=0)
