r"""Issue the portal's own TLS server certificate from one of its CAs, as the PEM files a TLS front reads.

    manage.py tls_certificate --ca corp-issuing --name scep.example.com --dns ndes.corp.local \\
        --ip 10.0.0.5 [--key RSA-2048] [--dir /var/lib/certportal/tls]

The key is generated here (no CA key is needed: the CA worker signs the request through the queue, as for
``init_ra``); the files are ``<dir>/current/{privkey,cert,chain,fullchain}.pem`` (``ca.tls_directory``).
Idempotent: a certificate already there from the same CA for the same names, not revoked and not due for
renewal, is kept (``--force`` replaces it). The hourly job renews it (``CERTPORTAL_TLS_RENEWAL_THRESHOLD``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from ca.conf import ca_settings
from ca.crypto.keys import KeyPolicyError, KeySpec
from ca.models import CertificateAuthority, CertificateTemplate
from ca.selectors import certificate_get_by_fingerprint
from ca.services.server_certificates import SERVER_TEMPLATE_NAME, ServerNames, server_certificate_issue
from ca.tls_directory import TlsDirectory, TlsDirectoryError
from core.exceptions import ApplicationError


class Command(BaseCommand):
    help = "Issue the portal's TLS server certificate (Server Authentication) and write it as PEM files."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--ca", required=True, help="Slug of the issuing CA")
        parser.add_argument("--name", required=True, help="Public DNS name: the subject CN and first SAN")
        parser.add_argument(
            "--dns", action="append", default=[], help="Another DNS name, e.g. the internal one (repeatable)"
        )
        parser.add_argument("--ip", action="append", default=[], help="An IP address SAN (repeatable)")
        parser.add_argument(
            "--key", default="RSA-2048", help="RSA-2048 (default), RSA-3072, RSA-4096, EC-P256 or EC-P384"
        )
        parser.add_argument(
            "--template",
            default="",
            help=f"Certificate template (with Server Authentication, published to the CA); default "
            f"{SERVER_TEMPLATE_NAME}, created and published when missing",
        )
        parser.add_argument("--dir", default="", help="Directory of the files (default CERTPORTAL_TLS_DIR)")
        parser.add_argument("--wait", type=float, default=60.0, help="Seconds to wait for the CA worker")
        parser.add_argument(
            "--force", action="store_true", help="Issue a new certificate even if one is valid"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        authority = CertificateAuthority.objects.filter(slug=options["ca"]).first()
        if authority is None:
            raise CommandError(f"no CA with slug {options['ca']!r}")
        template = None
        if options["template"]:
            template = CertificateTemplate.objects.filter(name=options["template"]).first()
            if template is None:
                raise CommandError(f"no certificate template named {options['template']!r}")
        path = options["dir"] or ca_settings().TLS_DIR
        if not path:
            raise CommandError("give --dir or set CERTPORTAL_TLS_DIR")
        directory = TlsDirectory(Path(path))
        try:
            spec = KeySpec.parse(options["key"])
            names = ServerNames.parse(
                common_name=options["name"], dns_names=options["dns"], ip_addresses=options["ip"]
            )
        except KeyPolicyError as exc:
            raise CommandError(str(exc).replace("CA key", "key")) from exc
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        if not options["force"] and self._kept(directory, authority, names):
            return
        try:
            issued = server_certificate_issue(
                authority=authority,
                names=names,
                directory=directory,
                key_spec=spec,
                template=template,
                wait=options["wait"],
            )
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"issued TLS server certificate {issued.serial} for {names} by CA {authority.slug}, valid "
                f"until {issued.not_after:%Y-%m-%d}: {directory.current / 'fullchain.pem'}, "
                f"{directory.current / 'privkey.pem'}"
            )
        )

    def _kept(self, directory: TlsDirectory, authority: CertificateAuthority, names: ServerNames) -> bool:
        """A valid certificate from this CA for these names is there and not due: say so, keep it."""
        try:
            current = directory.current_certificate()
        except TlsDirectoryError:
            return False
        if current is None:
            return False
        issued = certificate_get_by_fingerprint(fingerprint_sha256=current.fingerprint(hashes.SHA256()).hex())
        if issued is None or issued.authority_id != authority.pk or issued.revoked_at is not None:
            return False
        now = timezone.now()
        lifetime = current.not_valid_after_utc - current.not_valid_before_utc
        if current.not_valid_after_utc - now < lifetime * ca_settings().TLS_RENEWAL_THRESHOLD:
            return False
        if ServerNames.from_certificate(current) != names:
            return False
        self.stdout.write(
            f"TLS server certificate {issued.serial} for {names} (until {issued.not_after:%Y-%m-%d}) is in "
            f"{directory.path}; left as is (--force replaces it)"
        )
        return True
