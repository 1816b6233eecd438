r"""Create the OCSP responder certificates that are missing or due, as the beat job does.

Run it where the OCSP key passphrase is (the web tier's environment, or the embedded default), with the
CA worker running: it signs the responders' CSRs through the request queue.

    manage.py ocsp_responder                          # every enabled CA: create missing, renew those due
    manage.py ocsp_responder --ca corp-issuing        # the same, for one CA
    manage.py ocsp_responder --ca corp-issuing --renew   # a new responder for one CA now, due or not
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ca.models import CertificateAuthority
from ca.services.ocsp import ocsp_responder_create, ocsp_responder_refresh
from core.exceptions import ApplicationError


class Command(BaseCommand):
    help = "Create missing OCSP responder certificates and renew those past half their lifetime."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--ca", help="Slug of one CA (default: every enabled CA)")
        parser.add_argument("--renew", action="store_true", help="With --ca: a new responder even if not due")
        parser.add_argument("--wait", type=float, default=60.0, help="Seconds to wait for the CA worker")

    def handle(self, *args: Any, **options: Any) -> None:
        authorities = CertificateAuthority.objects.all()
        if options["ca"]:
            authorities = authorities.filter(slug=options["ca"])
            if not authorities.exists():
                raise CommandError(f"no CA with slug {options['ca']!r}")
        elif options["renew"]:
            raise CommandError("--renew needs --ca")
        if options["renew"]:
            try:
                created = [ocsp_responder_create(authority=authorities.get(), wait=options["wait"])]
            except ApplicationError as exc:
                raise CommandError(exc.message) from exc
            failed: dict[str, str] = {}
        else:
            result = ocsp_responder_refresh(authorities=authorities, wait=options["wait"])
            created, failed = result.created, result.failed
        for responder in created:
            self.stdout.write(
                self.style.SUCCESS(
                    f"OCSP responder for {responder.authority.slug}: certificate "
                    f"{responder.certificate.serial}, valid until {responder.not_after:%Y-%m-%d %H:%M}Z"
                )
            )
        if not created and not failed:
            self.stdout.write("every OCSP responder is current; nothing to do")
        if failed:
            raise CommandError("; ".join(f"{slug}: {reason}" for slug, reason in failed.items()))
