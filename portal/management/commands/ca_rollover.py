"""Roll a CA over to a successor (a new key and certificate): prepare, status, switch, cancel.

Run it where the RA passphrase is (the web tier); the CA worker creates the successor and signs the next
RA certificates. The runbook is docs/ca-rollover.md:

    manage.py ca_rollover prepare --ca corp-issuing [--validity-days N] [--key RSA-3072] [--parent SLUG]
    manage.py ca_rollover status --ca corp-issuing
    manage.py ca_rollover switch --ca corp-issuing [--at 2027-03-01T06:00:00Z]
    manage.py ca_rollover cancel --ca corp-issuing
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from ca.crypto.keys import KeyPolicyError, KeySpec
from ca.models import AuthorityRollover, CertificateAuthority
from core.exceptions import ApplicationError
from portal.rollover import (
    ca_rollover_cancel,
    ca_rollover_latest,
    ca_rollover_prepare,
    ca_rollover_schedule,
    ca_rollover_state,
    ca_rollover_switch,
)


def _fingerprint(hex_digest: str) -> str:
    return ":".join(hex_digest[i : i + 2] for i in range(0, len(hex_digest), 2))


def _when(moment: dt.datetime | None) -> str:
    return f"{moment:%Y-%m-%d %H:%M:%S} UTC" if moment is not None else "-"


def _key(authority: CertificateAuthority) -> str:
    return f"EC-P{authority.key_size}" if authority.key_type == "EC" else f"RSA-{authority.key_size}"


class Command(BaseCommand):
    help = (
        "CA rollover: prepare the next CA (GetNextCACert, trusted roots), show it, switch to it, cancel it."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        commands = parser.add_subparsers(dest="action", required=True, metavar="prepare|status|switch|cancel")
        prepare = commands.add_parser("prepare", help="Create the next CA, its RAs, publish it to devices")
        prepare.add_argument("--validity-days", type=int, help="Default: the current CA's lifetime")
        prepare.add_argument("--key", help="RSA-2048 ... RSA-4096, EC-P256, EC-P384 (default: the CA's)")
        prepare.add_argument("--parent", help="Slug of the CA that signs the next CA (default: the CA's)")
        prepare.add_argument(
            "--wait", type=float, default=120.0, help="Seconds to wait for the CA worker (default 120)"
        )
        commands.add_parser("status", help="Where the rollover stands")
        switch = commands.add_parser("switch", help="Switch to the next CA now, or at --at")
        switch.add_argument("--at", help="ISO 8601 time with a UTC offset; beat switches then")
        commands.add_parser("cancel", help="Give up the rollover (before its switch)")
        for sub in commands.choices.values():
            sub.add_argument("--ca", required=True, help="Slug of the CA being rolled over")

    def handle(self, *args: Any, **options: Any) -> None:
        authority = CertificateAuthority.objects.filter(slug=options["ca"]).first()
        if authority is None:
            raise CommandError(f"no CA with slug {options['ca']!r}")
        try:
            getattr(self, f"_{options['action']}")(authority, options)
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc

    # --- the subcommands ----------------------------------------------------------------------------------

    def _prepare(self, authority: CertificateAuthority, options: dict[str, Any]) -> None:
        try:
            spec = KeySpec.parse(options["key"]) if options["key"] else None
        except KeyPolicyError as exc:
            raise CommandError(str(exc)) from exc
        if options["validity_days"] is not None and options["validity_days"] < 1:
            raise CommandError("--validity-days must be at least 1")
        parent = None
        if options["parent"]:
            parent = CertificateAuthority.objects.filter(slug=options["parent"]).first()
            if parent is None:
                raise CommandError(f"no CA with slug {options['parent']!r}")
        report = ca_rollover_prepare(
            authority=authority,
            requested_by=f"command:ca_rollover:{options['ca']}",
            key_spec=spec,
            validity_days=options["validity_days"],
            parent=parent,
            wait=options["wait"],
        )
        rollover, successor = report.rollover, report.rollover.successor
        assert successor is not None  # noqa: S101 - prepared: ca_rollover_prepare raised otherwise
        verb = "created" if report.requested else "is"
        self.stdout.write(
            f"next CA of {authority.slug} {verb} {successor.slug} ({successor.name}), rollover {rollover.pk}"
        )
        self._describe_successor(rollover)
        for service in report.services:
            ra = service.next_registration_authority
            assert ra is not None  # noqa: S101 - prepared services all have one
            action = {"issued": "issued", "shared": "shares", "kept": "kept"}[service.action]
            self.stdout.write(
                f"SCEP service {service.slug}: next RA {ra.name} {action} "
                f"({_fingerprint(ra.fingerprint_sha1)}, until {_when(ra.not_after)}); "
                "GetCACaps lists GetNextCACert"
            )
        if not report.services:
            self.stdout.write(f"SCEP services: none use {authority.slug}")
        for publication in report.trusted_roots:
            self.stdout.write(
                f"trusted certificate profile {publication.next.name!r} ({publication.next.platform}) "
                f"{publication.action} next to {publication.current.name!r}, "
                f"{publication.assignments_added} assignment(s) added"
            )
        if not report.trusted_roots:
            self.stdout.write(f"trusted certificate profiles: none publish {authority.slug}")
        self.stdout.write(
            self.style.SUCCESS(
                f"prepared; next: ca_rollover switch --ca {authority.slug} [--at ISO-8601 time]"
            )
        )

    def _status(self, authority: CertificateAuthority, options: dict[str, Any]) -> None:
        rollover = ca_rollover_latest(authority=authority)
        if rollover is None:
            self.stdout.write(f"CA {authority.slug}: no rollover (ca_rollover prepare --ca {authority.slug})")
            return
        state = ca_rollover_state(rollover=rollover)
        self.stdout.write(
            f"rollover {rollover.pk} of {authority.slug} to {rollover.successor_slug}: {rollover.status} "
            f"(requested {_when(rollover.created_at)} by {rollover.requested_by})"
        )
        if rollover.failure_reason:
            self.stdout.write(f"  failure: {rollover.failure_reason}")
        self._describe_successor(rollover)
        self.stdout.write(
            f"  switch at: {_when(rollover.switch_at)}; switched: {_when(rollover.switched_at)}"
        )
        if rollover.cancelled_at:
            self.stdout.write(f"  cancelled: {_when(rollover.cancelled_at)}")
        for service in state.services:
            upcoming = service.next_registration_authority
            self.stdout.write(
                f"  SCEP service {service.slug}: RA {service.registration_authority.name} "
                f"({service.registration_authority.fingerprint_sha1[:16]}), next RA "
                + (f"{upcoming.name} ({upcoming.fingerprint_sha1[:16]})" if upcoming else "none")
            )
        for root in state.next_trusted_roots:
            self.stdout.write(
                f"  publishes the next CA: trusted certificate profile {root.name!r} ({root.platform})"
            )
        for profile in state.scep_profiles:
            self.stdout.write(
                f"  follows at the switch: SCEP profile {profile.name!r} (version {profile.version})"
            )
        for problem in state.problems:
            self.stdout.write(self.style.WARNING(f"  not ready: {problem}"))
        if state.ready:
            self.stdout.write(self.style.SUCCESS("  ready to switch"))

    def _switch(self, authority: CertificateAuthority, options: dict[str, Any]) -> None:
        if options["at"]:
            switch_at = parse_datetime(options["at"])
            if switch_at is None or timezone.is_naive(switch_at):
                raise CommandError(f"--at {options['at']!r} is not an ISO 8601 time with a UTC offset")
            rollover = ca_rollover_schedule(authority=authority, switch_at=switch_at)
            self.stdout.write(
                self.style.SUCCESS(
                    f"rollover {rollover.pk} of {authority.slug} to {rollover.successor_slug} switches at "
                    f"{_when(rollover.switch_at)} (beat: portal.jobs.ca_rollover_switch_due_task)"
                )
            )
            return
        report = ca_rollover_switch(authority=authority)
        successor = report.rollover.successor
        assert successor is not None  # noqa: S101 - switched rollovers have one
        self.stdout.write(
            f"templates now issued by {successor.slug}: {', '.join(report.templates) or 'none'}"
        )
        for service in report.services:
            ra = service.next_registration_authority
            self.stdout.write(
                f"SCEP service {service.slug}: CA {successor.slug}, RA {ra.name if ra else '-'}"
                f" ({ra.fingerprint_sha1[:16] if ra else '-'}); GetNextCACert no longer advertised"
            )
        for switched in report.scep_profiles:
            self.stdout.write(
                f"SCEP profile {switched.profile.name!r}: CA {successor.slug}, trusted certificate profile "
                f"{switched.root_profile.name!r}, version {switched.version}"
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"switched {authority.slug} -> {successor.slug}; {authority.slug} issues nothing new and "
                "keeps publishing its CRL and OCSP answers"
            )
        )

    def _cancel(self, authority: CertificateAuthority, options: dict[str, Any]) -> None:
        report = ca_rollover_cancel(authority=authority)
        for slug in report.services:
            self.stdout.write(f"SCEP service {slug}: next RA withdrawn; GetNextCACert no longer advertised")
        for name in report.trusted_roots:
            self.stdout.write(f"trusted certificate profile {name!r} deleted")
        disabled = f"; next CA {report.rollover.successor_slug} disabled" if report.rollover.successor else ""
        self.stdout.write(
            self.style.SUCCESS(f"rollover {report.rollover.pk} of {authority.slug} cancelled{disabled}")
        )

    # --- output ---------------------------------------------------------------------------------------------

    def _describe_successor(self, rollover: AuthorityRollover) -> None:
        successor = rollover.successor
        if successor is None:
            self.stdout.write(
                f"  next CA: not created yet ({rollover.key_spec}, {rollover.validity_days} days)"
            )
            return
        signer = successor.parent.slug if successor.parent else "itself (a root)"
        self.stdout.write(
            f"  next CA: {successor.subject}, {_key(successor)}, signed by {signer}, "
            f"valid {_when(successor.not_before)} to {_when(successor.not_after)}"
        )
        self.stdout.write(f"  next CA SHA-256 fingerprint: {_fingerprint(successor.fingerprint_sha256)}")
