"""Bootstrap the demo PKI and an admin login; safe to run again (everything is created once).

Creates: the templates "CertportalDemo" (client authentication, one year) and the RA template; a root
CA and an issuing CA, each with its OCSP responder; the RA certificate pair; the default SCEP service
with legacy algorithms on (so that old clients such as micromdm's scepclient work) and a static
challenge; an admin user.
Prints the login, the SCEP URL and challenge, and how to enroll a test device, all at the base URL
(``CERTPORTAL_BASE_URL``, or ``http://HOST:PORT`` where ``./dev serve`` listens). A demo PKI made for
another base URL (an earlier ``./dev serve`` on another port) has its demo CAs' CRL, AIA and OCSP URLs
moved to this one, so that what they issue from now on points here.

The admin is created once, with a generated password kept in ``var/secrets/demo_admin_password`` (0600).
Later runs print that password only while it is still the admin's: a password the admin changed is never
reset (the stale file is removed and the summary says so).
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from cryptography import x509

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from ca.conf import ca_settings
from ca.crypto.keys import KeySpec
from ca.models import CertificateAuthority, CertificateTemplate
from ca.services.authorities import authority_create
from ca.services.authority_urls import authority_urls_move
from ca.services.ocsp import ocsp_responder_refresh
from ca.services.revocation import crl_generate
from enrollment.models import RegistrationAuthority, ScepService
from enrollment.services.registration import registration_authority_create, scep_service_create
from portal.env import local_secret

ROOT_SLUG = "demo-root"
ISSUING_SLUG = "demo-issuing"
SERVICE_SLUG = "demo"
TEMPLATE_NAME = "CertportalDemo"
ADMIN_PASSWORD_FILE = "demo_admin_password"  # noqa: S105 - the name of the file, not a password


class Command(BaseCommand):
    help = "Create the demo PKI (root CA, issuing CA, RA, template, SCEP service) and an admin login."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username", default="admin")
        parser.add_argument("--quiet", action="store_true", help="Print only the summary")

    def handle(self, *args: Any, **options: Any) -> None:
        template = self._template()
        root = CertificateAuthority.objects.filter(slug=ROOT_SLUG).first() or self._root()
        issuing = CertificateAuthority.objects.filter(slug=ISSUING_SLUG).first() or self._issuing(root)
        issuing.published_templates.add(template)
        self._follow_base_url(root, issuing)
        # The OCSP responders of both CAs (beat renews them): created when missing or due.
        both = CertificateAuthority.objects.filter(pk__in=[root.pk, issuing.pk])
        ocsp = ocsp_responder_refresh(authorities=both)
        for slug, reason in ocsp.failed.items():
            self.stderr.write(f"no OCSP responder for {slug}: {reason}")
        ra = RegistrationAuthority.objects.filter(authority=issuing).order_by("-not_after").first()
        if ra is None:
            ra = registration_authority_create(
                authority=issuing,
                name="certportal Demo SCEP RA",
                subject=x509.Name.from_rfc4514_string("CN=certportal Demo SCEP RA,O=certportal demo"),
            )
        secrets_dir = settings.DATA_DIR / "secrets"
        challenge = local_secret(secrets_dir, "demo_scep_challenge", nbytes=12)
        if not ScepService.objects.filter(slug=SERVICE_SLUG).exists():
            scep_service_create(
                slug=SERVICE_SLUG,
                name="certportal demo SCEP",
                authority=issuing,
                registration_authority=ra,
                general_purpose_template=template,
                allow_legacy_algorithms=True,
                static_challenge=challenge,
                is_default=not ScepService.objects.filter(is_default=True).exists(),
            )
        login = self._admin(options["username"], secrets_dir / ADMIN_PASSWORD_FILE)
        self._summary(login, challenge, root)

    def _template(self) -> CertificateTemplate:
        template = CertificateTemplate.objects.filter(name=TEMPLATE_NAME).first()
        if template is None:
            template = CertificateTemplate(
                name=TEMPLATE_NAME,
                display_name="certportal demo client authentication",
                validity_days=365,
                allow_requester_validity=True,
            )
            template.full_clean()
            template.save()
        return template

    def _root(self) -> CertificateAuthority:
        root = authority_create(
            name="certportal Demo Root CA",
            slug=ROOT_SLUG,
            subject=x509.Name.from_rfc4514_string("CN=certportal Demo Root CA,O=certportal demo"),
            key_spec=KeySpec("RSA", 3072),
            validity_days=3650,
        )
        crl_generate(authority=root)
        return root

    def _issuing(self, root: CertificateAuthority) -> CertificateAuthority:
        issuing = authority_create(
            name="certportal Demo Issuing CA",
            slug=ISSUING_SLUG,
            subject=x509.Name.from_rfc4514_string("CN=certportal Demo Issuing CA,O=certportal demo"),
            key_spec=KeySpec("RSA", 2048),
            validity_days=1825,
            parent=root,
            path_length=0,
        )
        crl_generate(authority=issuing)
        return issuing

    def _follow_base_url(self, *authorities: CertificateAuthority) -> None:
        """The demo CAs' URLs at this base URL (they were made for another one, e.g. another PORT)."""
        for authority in authorities:
            moved = authority_urls_move(authority=authority)
            if moved:
                was = ", ".join(before for before, _ in moved.values())
                self.stdout.write(
                    f"{authority.slug}: CRL, AIA and OCSP URLs moved to {ca_settings().BASE_URL} "
                    f"(were {was}) for what it issues from now on; what it issued before, and the demo CA "
                    "certificates themselves, keep the old URLs (remove the data directory to start afresh)"
                )

    @transaction.atomic
    def _admin(self, username: str, password_file: Path) -> str:
        """Create the admin once; return the login line: the generated password while it is still the
        admin's, otherwise why it is not shown. Never changes an existing user's password.
        """
        user_model = get_user_model()
        user = user_model.objects.filter(username=username).first()
        if user is None:
            password = secrets.token_urlsafe(12)
            user_model.objects.create_superuser(username=username, email="", password=password)
            password_file.unlink(missing_ok=True)
            local_secret(password_file.parent, password_file.name, initial=password)
            return f"{username} / {password}"
        try:
            password = password_file.read_text(encoding="ascii").strip()
        except FileNotFoundError:
            password = ""
        if password and user.check_password(password):
            return f"{username} / {password}"
        if password:
            password_file.unlink()  # a password that no longer opens anything
        return (
            f"{username} (its password was changed since it was generated, and was not reset; "
            f"forgotten? ./manage.py changepassword {username})"
        )

    def _summary(self, login: str, challenge: str, root: CertificateAuthority) -> None:
        base = ca_settings().BASE_URL
        lines = [
            "",
            "certportal demo PKI is ready.",
            f"  Portal:          {base}/   (admin: {base}/admin/, API docs: {base}/api/docs/)",
            f"  Login:           {login}",
            f"  SCEP URL:        {base}/scep/{SERVICE_SLUG}   (also {base}/certsrv/mscep/mscep.dll)",
            f"  SCEP challenge:  {challenge}",
            f"  Root CA:         {base}/ca/{ROOT_SLUG}.crt  SHA-1 {root.fingerprint_sha1}",
            "  Enroll a test device (Debian package 'scep'):",
            "    mkdir -p /tmp/dev1 && openssl genrsa -traditional -out /tmp/dev1/key.pem 2048",
            f"    scepclient -server-url {base}/scep/{SERVICE_SLUG} -private-key /tmp/dev1/key.pem \\",
            f"      -certificate /tmp/dev1/cert.pem -challenge '{challenge}' -cn dev1",
            f"    curl -s {base}/ca/{ISSUING_SLUG}-chain.pem > /tmp/chain.pem && "
            "openssl verify -CAfile /tmp/chain.pem /tmp/dev1/cert.pem",
            f"  OCSP:            {base}/ocsp/{ISSUING_SLUG}   (in the AIA of every certificate it issues)",
            f"    curl -s {base}/ca/{ISSUING_SLUG}.crt | openssl x509 -inform DER > /tmp/issuing.pem && "
            f"openssl ocsp -issuer /tmp/issuing.pem -cert /tmp/dev1/cert.pem -url {base}/ocsp/{ISSUING_SLUG} "
            "-CAfile /tmp/chain.pem",
            "",
        ]
        self.stdout.write("\n".join(lines))
