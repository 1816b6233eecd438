"""Import directory users, devices and groups from a CSV or JSON file (see directory.imports).

    manage.py directory_import users.csv
    manage.py directory_import export.json --dry-run
    manage.py directory_import - --kind devices --format csv < devices.csv

The import is recorded as an import job (like an API import, ``GET /api/v1/directory-import/{id}/``) and
run in this process, chunk by chunk (``CERTPORTAL_IMPORT_CHUNK_SIZE`` rows per transaction), so it never
holds a long transaction. Prints the counts and one line per failed row (the first 1,000). Exit code 0
when every row was imported, 1 when some rows failed (the others were imported, unless --dry-run) or the
job stopped, 2 when the file itself is unusable (nothing imported).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from directory.exceptions import ImportFileInvalid
from directory.imports.rows import KINDS
from directory.models import ImportJobStatus
from directory.services.import_jobs import import_job_create, import_job_run

EXIT_ROWS_FAILED = 1
EXIT_FILE_INVALID = 2


class Command(BaseCommand):
    help = "Import users, devices and groups from a CSV or JSON file, by external_id (idempotent)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="CSV or JSON file; - reads standard input")
        parser.add_argument(
            "--kind", choices=["auto", *KINDS], default="auto", help="default: from the columns"
        )
        parser.add_argument(
            "--format",
            choices=["auto", "csv", "json"],
            default="auto",
            help="default: from the name or content",
        )
        parser.add_argument("--dry-run", action="store_true", help="validate and count; write nothing")

    def handle(self, *args: Any, **options: Any) -> None:
        name: str = options["file"]
        try:
            content = sys.stdin.buffer.read() if name == "-" else Path(name).read_bytes()
        except OSError as exc:
            raise CommandError(f"cannot read {name}: {exc.strerror}", returncode=EXIT_FILE_INVALID) from exc
        try:
            job = import_job_create(
                content=content,
                requested_by="cli:manage.py directory_import",
                file_name="" if name == "-" else Path(name).name,
                file_format=options["format"],
                kind=options["kind"],
                dry_run=options["dry_run"],
                dispatch=False,  # run here, not on the queue
            )
        except ImportFileInvalid as exc:
            raise CommandError(
                f"{name}: {exc.message}; nothing imported", returncode=EXIT_FILE_INVALID
            ) from exc
        job = import_job_run(job_id=job.pk)
        prefix = "dry run, nothing written: " if job.dry_run else ""
        for kind in KINDS:
            if kind in job.by_kind:
                counts = job.by_kind[kind]
                self.stdout.write(
                    f"{prefix}{kind}: {counts['created']} created, {counts['updated']} updated, "
                    f"{counts['unchanged']} unchanged, {counts['failed']} failed"
                )
        for error in job.errors:
            messages = error["errors"].items()
            details = "; ".join(f"{field}: {' '.join(texts)}" for field, texts in messages)
            self.stderr.write(
                f"{error['kind']} row {error['row']} ({error['external_id'] or 'no external_id'}): {details}"
            )
        if job.errors_omitted:
            self.stderr.write(f"... and {job.errors_omitted} more failed row(s)")
        if job.status == ImportJobStatus.FAILED:
            raise CommandError(
                f"import job {job.pk} stopped: {job.failure_reason}", returncode=EXIT_ROWS_FAILED
            )
        if job.failed:
            raise CommandError(f"{job.failed} row(s) failed", returncode=EXIT_ROWS_FAILED)
