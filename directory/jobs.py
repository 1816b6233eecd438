"""Tasks of the directory on the default queue (``portal.celery`` discovers ``jobs`` modules).

An import job runs here (sent by name by ``directory.services.import_jobs.import_job_dispatch``), and beat
runs the sweep that sends again the jobs whose task was lost.
"""

from __future__ import annotations

import datetime as dt

from celery import shared_task

from directory.conf import directory_settings
from directory.services.import_jobs import import_job_redispatch_stale, import_job_run

__all__ = ["import_job_run_task", "import_job_sweep_task"]


# Longer limits than the project's default (120 s): a large import runs for minutes, each chunk in a short
# transaction of its own. acks_late with the project's reject_on_worker_lost: a job whose worker died is
# delivered again and resumes after its last committed chunk.
@shared_task(
    name="directory.jobs.import_job_run_task",
    acks_late=True,
    soft_time_limit=3 * 3600,
    time_limit=3 * 3600 + 60,
)
def import_job_run_task(job_id: int) -> str:
    """Apply an import job's rows, chunk by chunk (idempotent: a finished job is left as it is)."""
    return import_job_run(job_id=job_id).status


@shared_task(name="directory.jobs.import_job_sweep_task", acks_late=True)
def import_job_sweep_task() -> int:
    """Beat (every minute): dispatch again the import jobs queued, or running, without progress for
    ``CERTPORTAL_IMPORT_JOB_REDISPATCH_AFTER`` seconds.
    """
    after = dt.timedelta(seconds=directory_settings().IMPORT_JOB_REDISPATCH_AFTER)
    return import_job_redispatch_stale(older_than=after)
