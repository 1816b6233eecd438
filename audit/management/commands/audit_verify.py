"""``manage.py audit_verify [--seal] [--chain audit|events]``: recompute the hash chains over the audit log
and the connector's event log; exit 1 naming the rows that were changed, removed or inserted out of order.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from audit.choices import Chain
from audit.services.sealing import chain_seal
from audit.services.verification import ChainReport, chains_verify

#: Problems listed per chain (the count says how many more there are).
SHOWN = 20


class Command(BaseCommand):
    help = (
        "Verify the hash chains over the audit log and the connector's event log (rows written since the "
        "last seal are not yet protected: --seal seals what can be sealed first)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--seal", action="store_true", help="Seal what can be sealed, then verify")
        parser.add_argument("--chain", choices=[chain.value for chain in Chain], help="Only this chain")

    def handle(self, *args: Any, **options: Any) -> None:
        chain = Chain(options["chain"]) if options["chain"] else None
        if options["seal"]:
            for name, count in chain_seal(chain=chain).items():
                self.stdout.write(f"{name}: sealed {count} row(s)")
        reports = chains_verify(chain=chain)
        for report in reports:
            self._describe(report)
        problems = [problem for report in reports for problem in report.problems]
        if problems:
            first = problems[0]
            more = f" (and {len(problems) - 1} more problem(s))" if len(problems) > 1 else ""
            raise CommandError(
                f"the {first.chain.value} chain is broken: {first.message}{more}", returncode=1
            )

    def _describe(self, report: ChainReport) -> None:
        name = report.chain.value
        anchor = report.anchor
        start = (
            f"after the anchor #{anchor.row_id} (audit entry #{anchor.entry_id})"
            if anchor
            else "from the start"
        )
        if report.sealed:
            self.stdout.write(
                f"{name}: {report.sealed} sealed row(s) {start}, head #{report.head_row_id} {report.head}"
            )
        else:
            self.stdout.write(f"{name}: nothing sealed yet ({start})")
        if report.unsealed:
            self.stdout.write(
                f"{name}: {report.unsealed} row(s) from #{report.first_unsealed_id} on are newer than the "
                "last seal and not yet protected"
            )
        for problem in report.problems[:SHOWN]:
            self.stderr.write(f"{name}: {problem.kind}: {problem.message}")
        if len(report.problems) > SHOWN:
            self.stderr.write(f"{name}: ... and {len(report.problems) - SHOWN} more problem(s)")
        if report.intact:
            self.stdout.write(self.style.SUCCESS(f"{name}: intact"))
