"""Import directory users, devices and groups from a CSV or JSON file (see directory.imports).

    manage.py directory_import users.csv
    manage.py directory_import export.json --dry-run
    manage.py directory_import - --kind devices --format csv < devices.csv

Prints the counts and one line per failed row. Exit code 0 when every row was imported, 1 when some
rows failed (the others were imported, unless --dry-run), 2 when the file itself is unusable (nothing
imported).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from directory.exceptions import ImportFileInvalid
from directory.imports.rows import KINDS
from directory.services.imports import directory_import_file

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
            result = directory_import_file(
                content=content,
                file_format=options["format"],
                kind=options["kind"],
                filename=None if name == "-" else name,
                dry_run=options["dry_run"],
            )
        except ImportFileInvalid as exc:
            raise CommandError(
                f"{name}: {exc.message}; nothing imported", returncode=EXIT_FILE_INVALID
            ) from exc
        prefix = "dry run, nothing written: " if result.dry_run else ""
        for kind, counts in result.counts.items():
            self.stdout.write(
                f"{prefix}{kind}: {counts.created} created, {counts.updated} updated, "
                f"{counts.unchanged} unchanged, {counts.failed} failed"
            )
        for error in result.errors:
            details = "; ".join(f"{field}: {' '.join(messages)}" for field, messages in error.errors.items())
            self.stderr.write(
                f"{error.kind} row {error.row} ({error.external_id or 'no external_id'}): {details}"
            )
        if result.failed:
            raise CommandError(f"{result.failed} row(s) failed", returncode=EXIT_ROWS_FAILED)
