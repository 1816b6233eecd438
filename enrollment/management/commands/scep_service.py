r"""Show or change the SCEP services (NDES instances) that exist; ``init_scep_service`` creates them.

    manage.py scep_service show [<slug> ...]
    manage.py scep_service update <slug> [--default | --no-default] [--legacy | --no-legacy] \\
        [--static-challenge X | --generate-static-challenge | --no-static-challenge] [--template NAME] \\
        [--static-san-types dns,ip] [--static-subject-pattern REGEX] [...] [--dry-run]

``update`` prints every setting that changed, before → after (a static challenge only as set or none),
the service that stops being the default included; an option that would change nothing says so. Moving
the default moves the NDES paths (/certsrv/mscep/mscep.dll, /scep, /cgi-bin/pkiclient.exe) at once.
"""

from __future__ import annotations

import argparse
import secrets
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from ca.models import CertificateTemplate
from core.exceptions import ApplicationError
from enrollment.models import ScepService
from enrollment.services.scep_services import (
    UNCHANGED,
    ScepServiceChange,
    scep_service_settings,
    scep_service_update,
)

#: Options of ``update`` -> the service's keyword (the ones that map one to one).
_SETTINGS = {
    "name": "name",
    "enabled": "enabled",
    "default": "is_default",
    "legacy": "allow_legacy_algorithms",
    "static_subject_from_request": "static_subject_from_request",
    "static_subject_pattern": "static_subject_pattern",
    "one_time_challenges": "accept_one_time_challenges",
    "renewal": "allow_renewal",
    "renewal_window_days": "renewal_window_days",
}
#: The NDES paths the default service answers at.
DEFAULT_PATHS = "/certsrv/mscep/mscep.dll, /scep and /cgi-bin/pkiclient.exe"


def _switch(parser: argparse.ArgumentParser, name: str, help_text: str) -> None:
    parser.add_argument(f"--{name}", action=argparse.BooleanOptionalAction, default=None, help=help_text)


class Command(BaseCommand):
    help = "Show the SCEP services, or change one (update <slug> ...): each change printed before → after."

    def add_arguments(self, parser: CommandParser) -> None:
        commands = parser.add_subparsers(dest="command", required=True, metavar="show|update")
        show = commands.add_parser("show", help="Every setting of the services (all when no slug is given)")
        show.add_argument("slugs", nargs="*", metavar="slug")
        update = commands.add_parser("update", help="Change settings of one service")
        update.add_argument("slug")
        update.add_argument("--name", default=None)
        _switch(update, "default", f"Make it the default service ({DEFAULT_PATHS}); --no-default: none is")
        _switch(update, "enabled", "Serve it (--no-enabled: it answers 404)")
        _switch(update, "legacy", "Allow DES, 3DES and SHA-1 (old clients such as scepclient 2.1)")
        update.add_argument("--template", default=None, help="NDES GeneralPurposeTemplate (template name)")
        update.add_argument("--signature-template", default=None, help="NDES SignatureTemplate; '' for none")
        update.add_argument(
            "--encryption-template", default=None, help="NDES EncryptionTemplate; '' for none"
        )
        challenge = update.add_mutually_exclusive_group()
        challenge.add_argument("--static-challenge", "--challenge", default=None, help="Shared challenge")
        challenge.add_argument(
            "--generate-static-challenge",
            action="store_true",
            help="Generate a shared challenge and print it",
        )
        challenge.add_argument(
            "--no-static-challenge", action="store_true", help="Remove the shared challenge"
        )
        _switch(
            update,
            "static-subject-from-request",
            "Whether a static-challenge request supplies its subject (off: static requests are refused)",
        )
        update.add_argument(
            "--static-san-types",
            default=None,
            metavar="TYPES",
            help="SAN types a static-challenge request may carry: dns, ip, email, uri; '' for none",
        )
        update.add_argument(
            "--static-subject-pattern",
            default=None,
            metavar="REGEX",
            help="Regular expression the whole subject of a static-challenge request must match; '' for any",
        )
        _switch(update, "one-time-challenges", "Accept the one-time challenges of SCEP profiles")
        _switch(update, "renewal", "Accept RenewalReq signed by a current certificate")
        update.add_argument(
            "--renewal-window-days",
            type=int,
            default=None,
            help="Renewal only this close to expiry; 0: any time",
        )
        update.add_argument("--dry-run", action="store_true", help="Show what would change; change nothing")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["command"] == "show":
            self._show(options["slugs"])
        else:
            self._update(options)

    # --- show ------------------------------------------------------------------------------------------

    def _show(self, slugs: list[str]) -> None:
        services = list(
            ScepService.objects.select_related(
                "authority", "registration_authority", "next_registration_authority__authority"
            ).order_by("slug")
        )
        if slugs:
            unknown = sorted(set(slugs) - {service.slug for service in services})
            if unknown:
                raise CommandError(f"no SCEP service {', '.join(map(repr, unknown))}")
            services = [service for service in services if service.slug in slugs]
        if not services:
            self.stdout.write("no SCEP services (manage.py init_scep_service creates one)")
        for service in services:
            self.stdout.write(self._describe(service))

    def _describe(self, service: ScepService) -> str:
        ra, upcoming = service.registration_authority, service.next_registration_authority
        lines = [
            f"SCEP service {service.slug} ({service.name})",
            f"  path: /scep/{service.slug}"
            + (f" (the default: also {DEFAULT_PATHS})" if service.is_default else ""),
            f"  CA: {service.authority.slug} ({service.authority.subject})",
            f"  RA: {ra.name}, SHA-1 {ra.fingerprint_sha1}, until {ra.not_after:%Y-%m-%d %H:%M}Z",
            "  next RA (GetNextCACert): "
            + (
                f"{upcoming.name} of CA {upcoming.authority.slug}, SHA-1 {upcoming.fingerprint_sha1}"
                if upcoming is not None
                else "none (no CA rollover under way)"
            ),
        ]
        lines += [f"  {label}: {value}" for label, value in scep_service_settings(service).items()]
        return "\n".join(lines)

    # --- update ----------------------------------------------------------------------------------------

    def _update(self, options: dict[str, Any]) -> None:
        service = ScepService.objects.select_related("authority").filter(slug=options["slug"]).first()
        if service is None:
            raise CommandError(
                f"no SCEP service {options['slug']!r} (manage.py init_scep_service creates one)"
            )
        keywords: dict[str, Any] = {
            keyword: options[option] for option, keyword in _SETTINGS.items() if options[option] is not None
        }
        if options["template"] is not None:
            keywords["general_purpose_template"] = _template(options["template"], required=True)
        for key in ("signature_template", "encryption_template"):
            keywords[key] = UNCHANGED if options[key] is None else _template(options[key])
        challenge = None
        if options["generate_static_challenge"]:
            challenge = keywords["static_challenge"] = secrets.token_urlsafe(18)
        elif options["no_static_challenge"]:
            keywords["static_challenge"] = ""
        elif options["static_challenge"] is not None:
            keywords["static_challenge"] = options["static_challenge"]
        if options["static_san_types"] is not None:
            keywords["static_san_types"] = [
                item.strip().lower() for item in options["static_san_types"].split(",") if item.strip()
            ]
        if not [value for value in keywords.values() if value is not UNCHANGED]:
            raise CommandError(
                f"nothing to change: give the settings to change (manage.py scep_service update --help); "
                f"manage.py scep_service show {service.slug} shows them"
            )
        try:
            changes = scep_service_update(service=service, dry_run=options["dry_run"], **keywords)
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        self._report(service, changes, dry_run=options["dry_run"])
        if challenge is not None and not options["dry_run"]:
            self.stdout.write(f"static challenge: {challenge}")

    def _report(self, service: ScepService, changes: list[ScepServiceChange], *, dry_run: bool) -> None:
        if not changes:
            self.stdout.write(
                f"SCEP service {service.slug}: nothing to change, the settings given are its own"
            )
            return
        verb = "would change" if dry_run else "changed"
        for slug in dict.fromkeys(change.service for change in changes):
            self.stdout.write(f"SCEP service {slug}: {verb}")
            for change in changes:
                if change.service == slug:
                    self.stdout.write(f"  {change}")
        if dry_run:
            return
        default = ScepService.objects.filter(is_default=True).first()
        if any(change.setting.startswith("default service") for change in changes):
            self.stdout.write(
                f"{DEFAULT_PATHS} now serve SCEP service {default.slug}"
                if default is not None
                else f"no SCEP service is the default: {DEFAULT_PATHS} answer 404"
            )
        if default is not None and not default.enabled:
            self.stdout.write(
                f"warning: the default service {default.slug} is disabled: {DEFAULT_PATHS} answer 404"
            )


def _template(name: str, *, required: bool = False) -> CertificateTemplate | None:
    if not name:
        if required:
            raise CommandError("--template cannot be empty: a service needs its GeneralPurposeTemplate")
        return None
    template = CertificateTemplate.objects.filter(name=name).first()
    if template is None:
        raise CommandError(f"no certificate template {name!r}")
    return template
