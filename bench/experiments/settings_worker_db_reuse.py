"""Experiment: production settings, but the Celery CA worker keeps its database connection.

Celery's Django fix-up closes every database connection before and after each task unless
``CELERY_DB_REUSE_MAX`` is set, so each certificate costs a new PostgreSQL connection.
"""

from portal.settings.production import *  # noqa: F403

CELERY_DB_REUSE_MAX = 1000
