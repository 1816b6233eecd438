"""Directory import jobs: an import recorded as an :class:`~directory.models.ImportJob` and applied by a task
on the default queue, chunk by chunk, so that it never holds up enrollments, check-ins or other writers.

1. :func:`import_job_create` (the API, ``manage.py directory_import``) reads the file once: a problem of
   the file as a whole is ``ImportFileInvalid`` (400, nothing recorded), a kind the requester may not
   import is ``ImportNotPermitted`` (403, nothing recorded). It stores the file with the job and, once
   that commits, sends the job to the default queue by task name (``directory.jobs.import_job_run_task``;
   in the embedded default, with tasks eager, the task runs in process at that commit).
2. :func:`import_job_run` (the task) plans the import again from the stored file (pure and deterministic,
   :mod:`directory.imports.plan`), records the rows refused for their values, then applies the chunks.
   Each chunk's rows, the job's counters, errors and progress commit together in one short transaction
   that locks the job's row, so the job says exactly what has been applied; a dry run rolls each chunk's
   rows back and keeps the counts. A second runner (a redelivered task, or the sweep's) resumes after the
   last committed chunk, and two runners at once never apply a chunk twice: the one that finds the job
   moved on stops. (A dry run cannot resume: it starts again from the first chunk.)
3. The job ends ``done`` (check ``failed`` for rows that were not applied) or ``failed`` when an
   unexpected error stopped it, with the reason; the chunks committed before it stay. Either way the
   stored file is dropped.
4. :func:`import_job_redispatch_stale` (the sweep, beat) sends again the jobs queued or running that have
   shown no progress for ``CERTPORTAL_IMPORT_JOB_REDISPATCH_AFTER`` seconds.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import threading
from collections.abc import Callable, Sequence
from typing import Any, Final, Literal, cast

from celery import current_app
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from core import metrics
from directory.conf import directory_settings
from directory.exceptions import ImportFileInvalid, ImportNotPermitted
from directory.imports.files import ImportFormat, parse_file
from directory.imports.plan import ImportChunk, ImportPlan, import_plan
from directory.imports.results import ImportResult
from directory.imports.rows import KINDS, ImportKind
from directory.models import ImportJob, ImportJobStatus
from directory.services.imports import DryRun, import_chunk_apply

__all__ = [
    "ERRORS_KEPT",
    "IMPORT_JOB_TASK",
    "IMPORT_PERMISSIONS",
    "import_job_create",
    "import_job_dispatch",
    "import_job_redispatch_stale",
    "import_job_run",
]

logger = logging.getLogger(__name__)

#: The task that runs a job (``directory.jobs``), sent by name so that this module imports no task.
IMPORT_JOB_TASK: Final = "directory.jobs.import_job_run_task"

#: What importing each kind takes: an import creates rows and updates existing ones, so both rights.
IMPORT_PERMISSIONS: Final[dict[ImportKind, tuple[str, str]]] = {
    "users": ("directory.add_directoryuser", "directory.change_directoryuser"),
    "devices": ("directory.add_device", "directory.change_device"),
    "groups": ("directory.add_group", "directory.change_group"),
}

#: Failed rows listed on a job (the first ones by kind and row); ``failed`` counts them all.
ERRORS_KEPT: Final = 1000

_COUNTERS: Final = ("created", "updated", "unchanged", "failed")
#: What a text kept on the job may not hold (PostgreSQL refuses NUL; the rest would garble a listing).
_UNPRINTABLE: Final = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
_tasks_loaded = threading.Event()


def _plain(text: str, limit: int) -> str:
    cleaned = _UNPRINTABLE.sub("\ufffd", text)
    return cleaned if len(cleaned) <= limit else f"{cleaned[: limit - 3]}..."


def _plain_json(value: Any) -> Any:
    """``value`` with its strings made storable (row errors quote what the rows held)."""
    if isinstance(value, str):
        return _plain(value, 2000)
    if isinstance(value, dict):
        return {_plain(str(key), 255): _plain_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain_json(item) for item in value]
    return value


def import_job_create(
    *,
    content: bytes,
    requested_by: str,
    requested_by_user: AbstractBaseUser | None = None,
    file_name: str = "",
    file_format: ImportFormat | Literal["auto"] = "auto",
    kind: ImportKind | Literal["auto"] = "auto",
    dry_run: bool = False,
    permitted: Callable[[Sequence[str]], bool] | None = None,
    dispatch: bool = True,
) -> ImportJob:
    """Record an import of ``content`` (a CSV or JSON file) and, once committed, send it to the queue.

    ``permitted(permissions)`` tells whether the requester holds all of ``permissions``; each kind the
    file holds needs its :data:`IMPORT_PERMISSIONS` (None: anything may be imported, e.g. on the command
    line). With ``dispatch=False`` the caller runs the job itself (:func:`import_job_run`).

    The file is read before any transaction begins (reading 20 MiB takes a while, and on SQLite a
    transaction holds the database's one write lock from its first statement).

    Raises:
        ImportFileInvalid: the file cannot be read as a whole (nothing recorded).
        ImportNotPermitted: the file holds a kind the requester may not import (nothing recorded).
    """
    plan = import_plan(
        parse_file(content, file_format=file_format, kind=kind, filename=file_name or None),
        chunk_size=directory_settings().IMPORT_CHUNK_SIZE,
    )
    if permitted is not None:
        _check_permitted(plan, permitted, requested_by)
    job = ImportJob(
        requested_by=_plain(requested_by, 255),
        requested_by_user_id=requested_by_user.pk if requested_by_user is not None else None,
        dry_run=dry_run,
        file_name=_plain(file_name, 255),
        file_size=len(content),
        file_format=file_format,
        kind=kind,
        kinds=list(plan.kinds),
        content=content,
        rows_total=plan.rows_total,
        chunk_size=directory_settings().IMPORT_CHUNK_SIZE,
    )
    job.full_clean()
    with transaction.atomic():
        job.save()
        if dispatch:
            job_id = job.pk
            transaction.on_commit(lambda: import_job_dispatch(job_id), robust=True)
    return job


def _check_permitted(plan: ImportPlan, permitted: Callable[[Sequence[str]], bool], requested_by: str) -> None:
    wanted = {kind: IMPORT_PERMISSIONS[kind] for kind in plan.kinds}
    refused = {kind: perms for kind, perms in wanted.items() if not permitted(perms)}
    if refused:
        needs = "; ".join(f"{kind}: {' and '.join(perms)}" for kind, perms in refused.items())
        raise ImportNotPermitted(
            f"importing {' and '.join(refused)} creates and updates them, which takes both rights ({needs}); "
            "nothing was imported",
            requested_by=requested_by,
            extra={"kinds": list(refused), "permissions": sorted({p for ps in refused.values() for p in ps})},
        )


def import_job_dispatch(job_id: int) -> None:
    """Send the job to the default queue by task name; with tasks eager (the embedded default), run it here.

    Raises the broker's error when it cannot be reached (the job stays queued; the sweep sends it again).
    """
    app = current_app
    if app.conf.task_always_eager:
        if not _tasks_loaded.is_set():
            app.loader.import_default_modules()  # autodiscovery: this process runs the tasks itself
            _tasks_loaded.set()
        app.tasks[IMPORT_JOB_TASK].apply_async(args=(job_id,))
        return
    app.send_task(IMPORT_JOB_TASK, args=(job_id,))


def import_job_run(*, job_id: int) -> ImportJob:
    """Apply a job's rows, chunk by chunk, recording its progress; see the module docstring.

    Idempotent: a finished job is returned as it is, and a job that another runner moved on is left to it.
    """
    job = ImportJob.objects.get(pk=job_id)
    if job.is_finished:
        return job
    try:
        sections = parse_file(
            bytes(job.content),
            file_format=cast(ImportFormat | Literal["auto"], job.file_format),
            kind=cast(ImportKind | Literal["auto"], job.kind),
            filename=job.file_name or None,
        )
        plan = import_plan(sections, chunk_size=job.chunk_size)
    except ImportFileInvalid as exc:  # read once at creation: only if the stored file was changed
        return _finish(job_id, failure=exc.message)
    claimed = _claim(job_id, plan)
    if claimed is None:
        return ImportJob.objects.get(pk=job_id)
    trial = DryRun() if claimed.dry_run else None
    index = claimed.chunks_done
    try:
        while index < len(plan.chunks):
            if not _chunk_commit(job_id, index, plan.chunks[index], trial):
                logger.info("import job %s: another run has taken over at chunk %s", job_id, index)
                return ImportJob.objects.get(pk=job_id)
            index += 1
    except Exception as exc:  # recorded on the job; the chunks committed before stay
        logger.exception("import job %s stopped at chunk %s of %s", job_id, index + 1, len(plan.chunks))
        reason = f"stopped at chunk {index + 1} of {len(plan.chunks)}: {type(exc).__name__}: {exc}"
        return _finish(job_id, failure=reason)
    return _finish(job_id)


def _locked(job_id: int) -> ImportJob:
    return ImportJob.objects.select_for_update().defer("content").get(pk=job_id)


def _claim(job_id: int, plan: ImportPlan) -> ImportJob | None:
    """Mark the job running (one more attempt); on its first run, or for a dry run, start from the plan's
    first chunk with the rows refused for their values already counted. None if it has finished.
    """
    with transaction.atomic():
        job = _locked(job_id)
        if job.is_finished:
            return None
        if job.started_at is None or job.dry_run:
            planned = ImportResult.planned(plan, dry_run=job.dry_run)
            for counter in _COUNTERS:
                setattr(job, counter, getattr(planned, counter))
            job.by_kind = {kind: planned.counts[kind].as_dict() for kind in KINDS if kind in planned.counts}
            job.errors = _plain_json([error.as_dict() for error in planned.errors[:ERRORS_KEPT]])
            job.rows_done = len(plan.invalid)
            job.chunks_done = 0
        job.status = ImportJobStatus.RUNNING
        job.started_at = job.started_at or timezone.now()
        job.attempts += 1
        job.save()
        return job


def _chunk_commit(job_id: int, index: int, chunk: ImportChunk, dry_run: DryRun | None) -> bool:
    """Apply chunk ``index`` and record it on the job, in one transaction; False if the job has moved on."""
    with transaction.atomic():
        job = _locked(job_id)
        if job.status != ImportJobStatus.RUNNING or job.chunks_done != index:
            return False
        result = import_chunk_apply(chunk=chunk, dry_run=dry_run)
        for kind, counts in result.counts.items():
            totals = job.by_kind.setdefault(kind, dict.fromkeys(_COUNTERS, 0))
            for counter, value in counts.as_dict().items():
                totals[counter] += value
        for counter in _COUNTERS:
            setattr(job, counter, getattr(job, counter) + getattr(result, counter))
        if result.errors:
            errors = job.errors + _plain_json([error.as_dict() for error in result.errors])
            errors.sort(key=lambda error: (KINDS.index(error["kind"]), error["row"]))
            job.errors = errors[:ERRORS_KEPT]
        job.rows_done += len(chunk.rows)
        job.chunks_done = index + 1
        job.save(update_fields=[*_COUNTERS, "by_kind", "errors", "rows_done", "chunks_done", "updated_at"])
    return True


def _finish(job_id: int, *, failure: str | None = None) -> ImportJob:
    with transaction.atomic():
        job = _locked(job_id)
        if job.is_finished:
            return job
        job.status = ImportJobStatus.FAILED if failure else ImportJobStatus.DONE
        job.failure_reason = _plain(failure or "", 2000)
        job.finished_at = timezone.now()
        job.content = b""  # the rows are in the directory now (or were refused): do not keep the file
        job.save(update_fields=["status", "failure_reason", "finished_at", "content", "updated_at"])
    metrics.import_job_finished(status=str(job.status))
    if failure:
        logger.warning("import job %s failed: %s", job_id, job.failure_reason)
    return job


def import_job_redispatch_stale(*, older_than: dt.timedelta) -> int:
    """Send again the jobs queued, or running, without progress for ``older_than`` (a lost task, a worker
    that died); a running one resumes after its last committed chunk. Returns how many were sent.
    """
    now = timezone.now()
    cutoff = now - older_than
    stale = ImportJob.objects.filter(
        status__in=(ImportJobStatus.QUEUED, ImportJobStatus.RUNNING), updated_at__lt=cutoff
    )
    sent = 0
    for job_id in list(stale.values_list("pk", flat=True)):
        # The update is the claim: of two sweeps at once, one sends the job.
        if not stale.filter(pk=job_id).update(updated_at=now):
            continue
        logger.warning("import job %s shows no progress since %s; dispatching it again", job_id, cutoff)
        try:
            import_job_dispatch(job_id)
        except Exception:  # the broker is down: the next sweep tries again
            logger.exception("import job %s could not be dispatched again", job_id)
            continue
        sent += 1
    return sent
