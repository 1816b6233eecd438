"""Create the RA certificate pair of a CA's SCEP endpoint (idempotent: a valid RA is kept).

The RA key is generated here and stored encrypted with CERTPORTAL_RA_KEY_PASSPHRASE; the CA signs its
CSR through the request queue (on the CA worker in production).
"""

from __future__ import annotations

from typing import Any

from cryptography import x509

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from ca.models import CertificateAuthority
from core.exceptions import ApplicationError
from enrollment.models import RegistrationAuthority
from enrollment.services.registration import registration_authority_create


class Command(BaseCommand):
    help = "Create the RA (SCEP signing and encryption) certificate pair for a CA."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--ca", required=True, help="Slug of the issuing CA")
        parser.add_argument("--name", default="", help="Display name (default: '<CA name> SCEP RA')")
        parser.add_argument(
            "--subject", default="", help='RFC 4514 subject (default: "CN=<CA name> SCEP RA")'
        )
        parser.add_argument("--key-size", type=int, default=2048, choices=[2048, 3072, 4096])
        parser.add_argument("--force", action="store_true", help="Create a new RA even if a valid one exists")

    def handle(self, *args: Any, **options: Any) -> None:
        authority = CertificateAuthority.objects.filter(slug=options["ca"]).first()
        if authority is None:
            raise CommandError(f"no CA with slug {options['ca']!r}")
        existing = (
            RegistrationAuthority.objects.filter(authority=authority, not_after__gt=timezone.now())
            .order_by("-not_after")
            .first()
        )
        if existing is not None and not options["force"]:
            self.stdout.write(f"RA {existing} exists for {authority.slug}; left as is")
            return
        name = options["name"] or f"{authority.name} SCEP RA"
        try:
            subject = x509.Name.from_rfc4514_string(options["subject"] or f"CN={name}")
            ra = registration_authority_create(
                authority=authority, name=name, subject=subject, key_size=options["key_size"]
            )
        except ValueError as exc:
            raise CommandError(f"--subject is not an RFC 4514 name: {exc}") from exc
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(self.style.SUCCESS(f"created RA {ra} for CA {authority.slug}"))
