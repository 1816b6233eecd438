"""Revoke certificates from a script: ``manage.py revoke_certificate --serial 1A2B --reason key_compromise``.

The revocation is a durable request carried out by the CA worker (the command may run on the RA side);
the command waits for it (``--wait`` seconds) and says whether it is done or still queued.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ca.choices import RevocationReason
from ca.crypto.serials import serial_to_hex
from ca.models import IssuedCertificate
from ca.services.revocation_requests import certificate_revoke_by_admin
from core.exceptions import ApplicationError


class Command(BaseCommand):
    help = "Revoke issued certificates by serial (hex) or thumbprint, with an RFC 5280 reason."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--serial", action="append", default=[], help="Serial number in hex (repeatable)")
        parser.add_argument("--thumbprint", action="append", default=[], help="SHA-1 thumbprint (repeatable)")
        parser.add_argument("--ca", help="Slug of the issuing CA, when a serial is not unique across CAs")
        parser.add_argument("--reason", default=RevocationReason.UNSPECIFIED, choices=RevocationReason.values)
        parser.add_argument("--comment", default="")
        parser.add_argument("--wait", type=float, default=30.0, help="Seconds to wait for the CA worker")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            wanted = [("serial", serial_to_hex(int(s.replace(":", ""), 16))) for s in options["serial"]]
        except ValueError as exc:
            raise CommandError(f"a serial is written in hex: {exc}") from exc
        wanted += [("fingerprint_sha1", t.replace(":", "").upper()) for t in options["thumbprint"]]
        if not wanted:
            raise CommandError("name at least one certificate with --serial or --thumbprint")
        certificates = []
        for field, value in wanted:
            query = IssuedCertificate.objects.select_related("authority").filter(**{field: value})
            if field == "serial" and options["ca"]:
                query = query.filter(authority__slug=options["ca"])
            found = list(query[:2])
            if len(found) != 1:
                raise CommandError(
                    f"{field} {value} names {len(found)} certificates; "
                    + ("use --ca" if found else "no certificate has it")
                )
            certificates.append(found[0])
        failed = False
        for certificate in certificates:
            try:
                revocation = certificate_revoke_by_admin(
                    certificate=certificate,
                    reason=options["reason"],
                    comment=options["comment"],
                    requested_by="command:revoke_certificate",
                    wait=options["wait"],
                )
            except ApplicationError as exc:
                self.stderr.write(f"{certificate.serial}: {exc.message}")
                failed = True
                continue
            outcome = "revoked" if revocation.done else "queued for the CA worker"
            self.stdout.write(
                f"{certificate.serial} ({certificate.subject}): {outcome}, "
                f"revocation request {revocation.request.pk}"
            )
        if failed:
            raise CommandError("some certificates were not revoked")
