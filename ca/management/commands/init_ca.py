r"""Create a root or subordinate (issuing) CA. Idempotent: a CA with the same slug and subject is kept.

Run it where the CA key passphrase is (the CA worker's environment, or the embedded default):

    manage.py init_ca --slug corp-root --name "Corp Root CA" --subject "CN=Corp Root CA,O=Corp" \\
        --key RSA-4096 --validity-days 7300
    manage.py init_ca --slug corp-issuing --name "Corp Issuing CA" --subject "CN=Corp Issuing CA,O=Corp" \\
        --parent corp-root --key RSA-3072 --validity-days 3650 --path-length 0

With the key in an HSM (the "pkcs11" alias of CERTPORTAL_KEY_BACKENDS; CERTPORTAL_PKCS11_PIN set), the key
pair is generated in the token, under the label given (the slug by default):

    manage.py init_ca --slug corp-root --name "Corp Root CA" --subject "CN=Corp Root CA,O=Corp" \\
        --key EC-P384 --key-backend pkcs11 --token certportal --label corp-root-2026
"""

from __future__ import annotations

from typing import Any

from cryptography import x509

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from ca.crypto.keys import KeyPolicyError, KeySpec
from ca.models import CertificateAuthority, CertificateTemplate
from ca.services.authorities import authority_create
from ca.services.revocation import crl_generate
from core.exceptions import ApplicationError


class Command(BaseCommand):
    help = "Create a root CA, or a subordinate CA with --parent (idempotent by --slug)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--slug", required=True, help="Short name used in URLs, e.g. corp-issuing")
        parser.add_argument("--name", required=True, help="Display name")
        parser.add_argument(
            "--subject", required=True, help='RFC 4514 subject, e.g. "CN=Corp Root CA,O=Corp"'
        )
        parser.add_argument(
            "--key", default="RSA-3072", help="RSA-2048, RSA-3072, RSA-4096, EC-P256 or EC-P384"
        )
        parser.add_argument("--validity-days", type=int, default=3650)
        parser.add_argument("--parent", help="Slug of the issuing CA's parent; omit for a root CA")
        parser.add_argument(
            "--path-length", type=int, default=None, help="basicConstraints pathLenConstraint"
        )
        parser.add_argument(
            "--template", action="append", default=[], help="Certificate template this CA issues (repeatable)"
        )
        parser.add_argument("--key-backend", default="default", help="Alias in CERTPORTAL_KEY_BACKENDS")
        parser.add_argument(
            "--token",
            default="",
            help="PKCS#11 backends: label of the token (default: the backend's OPTIONS)",
        )
        parser.add_argument(
            "--label", default="", help="PKCS#11 backends: label of the new key (default: --slug)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            spec = KeySpec.parse(options["key"])
            subject = x509.Name.from_rfc4514_string(options["subject"])
        except KeyPolicyError as exc:
            raise CommandError(str(exc)) from exc
        except ValueError as exc:
            raise CommandError(f"--subject is not an RFC 4514 name: {exc}") from exc
        if options["validity_days"] < 1:
            raise CommandError("--validity-days must be at least 1")
        existing = CertificateAuthority.objects.filter(slug=options["slug"]).first()
        if existing is not None:
            if existing.certificate.subject != subject:
                raise CommandError(
                    f"CA {existing.slug!r} exists with subject {existing.subject!r}, "
                    f"not {options['subject']!r}"
                )
            self._publish(existing, options["template"])
            self.stdout.write(f"CA {existing.slug} already exists ({existing.subject}); left as is")
            return
        parent = None
        if options["parent"]:
            parent = CertificateAuthority.objects.filter(slug=options["parent"]).first()
            if parent is None:
                raise CommandError(f"no CA with slug {options['parent']!r}")
        try:
            authority = authority_create(
                name=options["name"],
                slug=options["slug"],
                subject=subject,
                key_spec=spec,
                validity_days=options["validity_days"],
                parent=parent,
                path_length=options["path_length"],
                key_backend=options["key_backend"],
                key_token=options["token"],
                key_label=options["label"],
            )
            crl_generate(authority=authority)
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        self._publish(authority, options["template"])
        self.stdout.write(self.style.SUCCESS(f"created CA {authority.slug}: {authority.subject}"))
        self.stdout.write(
            f"  SHA-1 thumbprint {authority.fingerprint_sha1}; valid until {authority.not_after:%Y-%m-%d}"
        )

    def _publish(self, authority: CertificateAuthority, names: list[str]) -> None:
        for name in names:
            template = CertificateTemplate.objects.filter(name=name).first()
            if template is None:
                raise CommandError(f"no certificate template {name!r}")
            authority.published_templates.add(template)
