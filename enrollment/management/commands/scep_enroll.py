r"""certportal's own SCEP client (built on the pure ``enrollment.scep`` library): enroll or renew a key.

    manage.py scep_enroll http://127.0.0.1:8000/scep/demo --key /tmp/k.pem --subject "CN=dev1" \\
        --challenge s3cret --out /tmp/cert.pem
    manage.py scep_enroll http://127.0.0.1:8000/scep/demo --key /tmp/k.pem --renew /tmp/cert.pem \
        --out /tmp/new.pem

It talks to any RFC 8894 server: algorithms and POST/GET are chosen from GetCACaps (AES, SHA-256 and
POST when offered).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from django.core.management.base import BaseCommand, CommandError, CommandParser

from enrollment import scep


class Command(BaseCommand):
    help = "Enroll (PKCSReq) or renew (RenewalReq) a key against a SCEP server; writes the certificate (PEM)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("url", help="SCEP URL, e.g. http://127.0.0.1:8000/scep/demo")
        parser.add_argument("--key", required=True, help="RSA private key (PEM); created if missing")
        parser.add_argument("--key-size", type=int, default=2048, choices=[2048, 3072, 4096])
        parser.add_argument("--subject", default="", help='RFC 4514 subject, e.g. "CN=dev1,O=Example"')
        parser.add_argument("--challenge", default="", help="challengePassword (static or one-time)")
        parser.add_argument("--renew", metavar="CERT", help="renew: sign with this current certificate")
        parser.add_argument("--out", required=True, help="where to write the issued certificate (PEM)")
        parser.add_argument("--ca-fingerprint", default="", help="SHA-256 of the CA certificate to pin (hex)")
        parser.add_argument("--legacy", action="store_true", help="allow DES/3DES/SHA-1 (old servers)")

    def handle(self, *args: Any, **options: Any) -> None:
        key = self._key(Path(options["key"]), options["key_size"])
        current = None
        if options["renew"]:
            current = x509.load_pem_x509_certificate(Path(options["renew"]).read_bytes())
        try:
            subject = (
                x509.Name.from_rfc4514_string(options["subject"])
                if options["subject"]
                else (current.subject if current is not None else None)
            )
        except ValueError as exc:
            raise CommandError(f"--subject is not an RFC 4514 name: {exc}") from exc
        if subject is None:
            raise CommandError("give --subject (or --renew with the current certificate)")
        pin = bytes.fromhex(options["ca_fingerprint"]) if options["ca_fingerprint"] else None
        client = scep.ScepClient(
            options["url"], ca_fingerprint=pin, policy=scep.AlgorithmPolicy(allow_legacy=options["legacy"])
        )
        csr = scep.build_csr(key, subject, challenge_password=options["challenge"] or None)
        try:
            if current is not None:
                result = client.renew(csr, current=scep.ScepIdentity(certificate=current, key=key))
            else:
                result = client.enroll(csr, key)
        except scep.ScepError as exc:
            raise CommandError(f"SCEP exchange failed: {exc}") from exc
        if result.status == scep.PkiStatus.PENDING:
            raise CommandError(
                f"PENDING (transactionID {result.transaction_id}): the CA has not issued yet; "
                "run again to poll"
            )
        if result.status != scep.PkiStatus.SUCCESS or result.certificate is None:
            fail = result.fail_info.rfc_name if result.fail_info is not None else "unknown"
            raise CommandError(f"FAILURE {fail}: {result.fail_info_text or 'no failInfoText'}")
        certificate = result.certificate
        Path(options["out"]).write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        self.stdout.write(
            f"issued {certificate.subject.rfc4514_string()} serial {certificate.serial_number:X} "
            f"(SHA-1 {certificate.fingerprint(hashes.SHA1()).hex().upper()}) -> {options['out']}"  # noqa: S303
        )

    def _key(self, path: Path, size: int) -> rsa.RSAPrivateKey:
        if path.exists():
            key = serialization.load_pem_private_key(path.read_bytes(), password=None)
            if not isinstance(key, rsa.RSAPrivateKey):
                raise CommandError("SCEP needs an RSA key (PKCS#1 v1.5 key transport)")
            return key
        key = rsa.generate_private_key(public_exponent=65537, key_size=size)
        path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        path.chmod(0o600)
        return key
