"""The certportal Django project: settings, URLs, the Celery app, the dashboard."""

from portal.celery import app as celery_app

__all__ = ["celery_app"]
