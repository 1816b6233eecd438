"""The Celery app.

Queues: ``ca`` carries every task that needs a CA private key (issue, revoke, CRL) and is served
only by the CA worker (``celery -A portal worker -Q ca``), the one process given the CA key
passphrase; ``default`` carries the rest. With no broker configured the tasks run in the calling
process (``CELERY_TASK_ALWAYS_EAGER``), which is the embedded default.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings.local")

app = Celery("certportal")
app.config_from_object("django.conf:settings", namespace="CELERY")
# ``tasks`` modules: the CA worker's (``ca.tasks``, routed to the ``ca`` queue by name); ``jobs`` modules:
# each app's default-queue tasks (sweeps, notifications, bulk work).
app.autodiscover_tasks()
app.autodiscover_tasks(related_name="jobs")
