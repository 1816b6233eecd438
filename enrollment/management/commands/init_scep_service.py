"""Create a SCEP service (an NDES instance) for a CA. Idempotent by --slug.

The --static-* options limit what a static-challenge request may ask for (ESC1: a shared challenge, a
template with Client Authentication and a CA that AD trusts for logon make a logon certificate for any
account whose name the request may carry).

On a service that exists, run again with the same options, nothing changes; the static challenge and the
--static-* policy given change (printed before → after). Any other option that differs from the service
(--default, --legacy/--no-legacy, --name, the templates, --ca) is refused, with nothing changed, and the
``manage.py scep_service update`` command that changes it is printed (a service moves to another CA by a
CA rollover: ``manage.py ca_rollover``).
"""

from __future__ import annotations

import argparse
import secrets
import shlex
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from ca.models import CertificateAuthority, CertificateTemplate
from core.exceptions import ApplicationError
from enrollment.models import RegistrationAuthority, ScepService
from enrollment.services.registration import scep_service_create
from enrollment.services.scep_services import scep_service_update


class Command(BaseCommand):
    help = (
        "Create a SCEP service: /scep/<slug>, optionally the default (/certsrv/mscep/mscep.dll). "
        "Change one that exists with manage.py scep_service update."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--slug", required=True)
        parser.add_argument("--name", default="")
        parser.add_argument("--ca", required=True, help="Slug of the issuing CA")
        parser.add_argument("--template", required=True, help="NDES GeneralPurposeTemplate (template name)")
        parser.add_argument("--signature-template", default="", help="NDES SignatureTemplate")
        parser.add_argument("--encryption-template", default="", help="NDES EncryptionTemplate")
        parser.add_argument(
            "--legacy",
            action=argparse.BooleanOptionalAction,
            default=None,
            help="Allow DES, 3DES and SHA-1 (old clients); off by default",
        )
        challenge = parser.add_mutually_exclusive_group()
        challenge.add_argument("--static-challenge", default=None, help="Shared challenge (plain NDES mode)")
        challenge.add_argument(
            "--generate-static-challenge",
            action="store_true",
            help="Generate a shared challenge and print it",
        )
        parser.add_argument(
            "--default",
            action="store_true",
            default=None,
            help="Serve at /scep and /certsrv/mscep/mscep.dll (the service that did stops)",
        )
        parser.add_argument(
            "--static-subject-from-request",
            action=argparse.BooleanOptionalAction,
            default=None,
            help="Whether a static-challenge request supplies its subject (default on). Off: this service "
            "refuses static-challenge requests (use one-time challenges from a SCEP profile)",
        )
        parser.add_argument(
            "--static-san-types",
            default=None,
            metavar="TYPES",
            help="Comma-separated SAN types a static-challenge request may carry: dns (default), ip, email, "
            "uri; '' for none. Never upn, the SID URI or the SID extension",
        )
        parser.add_argument(
            "--static-subject-pattern",
            default=None,
            metavar="REGEX",
            help="Regular expression the whole RFC 4514 subject (last RDN first) of a static-challenge "
            "request must match, e.g. 'CN=[a-z0-9-]+,O=Corp'; '' for any",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        authority = CertificateAuthority.objects.filter(slug=options["ca"]).first()
        if authority is None:
            raise CommandError(f"no CA with slug {options['ca']!r}")
        general = self._template(options["template"])
        if general is None:
            raise CommandError("--template is required")
        templates = {
            key: self._template(options[key])
            for key in ("template", "signature_template", "encryption_template")
        }
        challenge = options["static_challenge"]
        if options["generate_static_challenge"]:
            challenge = secrets.token_urlsafe(18)
        san_types = options["static_san_types"]
        policy: dict[str, Any] = {
            "subject_from_request": options["static_subject_from_request"],
            "san_types": None
            if san_types is None
            else [item.strip().lower() for item in san_types.split(",") if item.strip()],
            "subject_pattern": options["static_subject_pattern"],
        }
        try:
            service = ScepService.objects.filter(slug=options["slug"]).first()
            if service is None:
                ra = (
                    RegistrationAuthority.objects.filter(authority=authority, not_after__gt=timezone.now())
                    .order_by("-not_after")
                    .first()
                )
                if ra is None:
                    raise CommandError(
                        f"CA {authority.slug} has no RA yet: run `manage.py init_ra --ca {authority.slug}`"
                    )
                service = scep_service_create(
                    slug=options["slug"],
                    name=options["name"] or f"{authority.name} SCEP",
                    authority=authority,
                    registration_authority=ra,
                    general_purpose_template=general,
                    signature_template=templates["signature_template"],
                    encryption_template=templates["encryption_template"],
                    allow_legacy_algorithms=bool(options["legacy"]),
                    static_challenge=challenge or "",
                    static_subject_from_request=policy["subject_from_request"] is not False,
                    static_san_types=policy["san_types"],
                    static_subject_pattern=policy["subject_pattern"] or "",
                    is_default=bool(options["default"]),
                )
                self.stdout.write(self.style.SUCCESS(f"created SCEP service {service.slug}"))
            else:
                self._refuse_ignored(service, options, authority, templates)
                changes = scep_service_update(
                    service=service,
                    static_challenge=challenge or None,
                    static_subject_from_request=policy["subject_from_request"],
                    static_san_types=policy["san_types"],
                    static_subject_pattern=policy["subject_pattern"],
                )
                if changes:
                    self.stdout.write(f"SCEP service {service.slug} exists; changed:")
                    for change in changes:
                        self.stdout.write(f"  {change}")
                else:
                    self.stdout.write(f"SCEP service {service.slug} exists; left as is")
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        if service.static_challenge_digest:
            self.stdout.write(
                "static-challenge requests: subject from the request "
                f"{'on' if service.static_subject_from_request else 'off'}, SAN types "
                f"{', '.join(service.static_san_types) or 'none'}, subject pattern "
                f"{service.static_subject_pattern or '(any)'}"
            )
        if options["generate_static_challenge"]:
            self.stdout.write(f"static challenge: {challenge}")

    def _refuse_ignored(
        self,
        service: ScepService,
        options: dict[str, Any],
        authority: CertificateAuthority,
        templates: dict[str, CertificateTemplate | None],
    ) -> None:
        """Refuse (nothing changed) the options this command does not change on an existing service and
        that differ from it, naming the ``scep_service update`` options that change them.
        """
        ignored: list[str] = []
        instead: list[str] = []
        if authority.pk != service.authority_id:
            ignored.append(f"--ca {authority.slug} (the service's CA is {service.authority.slug})")
        if options["name"] and options["name"] != service.name:
            ignored.append(f"--name (is {service.name!r})")
            instead.append(f"--name {shlex.quote(options['name'])}")
        if options["default"] and not service.is_default:
            ignored.append("--default (it is not the default service)")
            instead.append("--default")
        if options["legacy"] is not None and options["legacy"] != service.allow_legacy_algorithms:
            flag = "--legacy" if options["legacy"] else "--no-legacy"
            ignored.append(
                f"{flag} (legacy algorithms are {'on' if service.allow_legacy_algorithms else 'off'})"
            )
            instead.append(flag)
        for key, field in (
            ("template", "general_purpose_template"),
            ("signature_template", "signature_template"),
            ("encryption_template", "encryption_template"),
        ):
            template, current = templates[key], getattr(service, field)
            if template is not None and template != current:
                flag = f"--{key.replace('_', '-')}"
                ignored.append(f"{flag} {template.name} (is {current.name if current else 'none'})")
                instead.append(f"{flag} {shlex.quote(template.name)}")
        if not ignored:
            return
        hint = (
            f"; change them with: manage.py scep_service update {service.slug} {' '.join(instead)}"
            if instead
            else ""
        )
        if authority.pk != service.authority_id:
            hint += "; a service moves to another CA by a CA rollover (manage.py ca_rollover)"
        raise CommandError(
            f"SCEP service {service.slug} exists, and init_scep_service changes only its static challenge "
            f"and --static-* policy; these options would be ignored: {', '.join(ignored)}. Nothing was "
            f"changed{hint}"
        )

    def _template(self, name: str) -> CertificateTemplate | None:
        if not name:
            return None
        template = CertificateTemplate.objects.filter(name=name).first()
        if template is None:
            raise CommandError(f"no certificate template {name!r}")
        return template
