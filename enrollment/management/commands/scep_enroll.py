r"""certportal's own SCEP client (built on the pure ``enrollment.scep`` library): enroll or renew a key.

    manage.py scep_enroll http://127.0.0.1:8000/scep/demo --key /tmp/k.pem --subject "CN=dev1" \
        --san dns:dev1.example.com --challenge s3cret --out /tmp/cert.pem
    manage.py scep_enroll http://127.0.0.1:8000/scep/demo --key /tmp/k.pem --renew /tmp/cert.pem \
        --out /tmp/new.pem
    manage.py scep_enroll --from-checkin https://portal.example/api/v1/checkin/ --device <external id> \
        --device-token <token> [--profile <name>] --cafile ca.pem --key /tmp/k.pem --out /tmp/cert.pem

It talks to any RFC 8894 server: algorithms and POST/GET are chosen from GetCACaps (AES, SHA-256 and
POST when offered); https is verified against ``--cafile`` or the system's trust store.

``--from-checkin`` does what an Intune-managed device does with one command: it checks in as the device
(``GET /api/v1/checkin/``, ``Authorization: Device <id>:<token>``), takes the SCEP profile's server URL,
rendered subject, SANs, key size and one-time challenge from the JSON payload, makes the key and the CSR
accordingly and enrolls. The payload is read here, as plain HTTP and JSON: enrollment imports nothing of
the profiles app that writes it (``profiles.services.payloads.checkin_as_json``).
"""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from django.core.management.base import BaseCommand, CommandError, CommandParser

from enrollment import scep
from enrollment.scep.client import SAN_TYPES, general_name_from_text, tls_context

#: The largest check-in answer read (a payload with a few roots and profiles is a few KB).
_MAX_CHECKIN_BYTES = 1024 * 1024
_KEY_SIZES = (2048, 3072, 4096)


@dataclass(frozen=True)
class CheckinRequest:
    """What one SCEP profile of a check-in payload asks the device to request."""

    profile: str
    url: str
    subject: x509.Name
    sans: tuple[x509.GeneralName, ...]
    key_size: int
    challenge: str


class Command(BaseCommand):
    help = (
        "Enroll (PKCSReq) or renew (RenewalReq) a key against a SCEP server, or enroll as a device from its "
        "check-in payload (--from-checkin); writes the key (if new) and the certificate (PEM)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "url",
            nargs="?",
            default="",
            help="SCEP URL, e.g. http://127.0.0.1:8000/scep/demo (with --from-checkin: the profile's first "
            "SCEP server URL unless given)",
        )
        parser.add_argument("--key", required=True, help="RSA private key (PEM); created if missing")
        parser.add_argument(
            "--key-size",
            type=int,
            choices=_KEY_SIZES,
            help="RSA key size of a new key (default 2048; with --from-checkin, the profile's)",
        )
        parser.add_argument("--subject", default="", help='RFC 4514 subject, e.g. "CN=dev1,O=Example"')
        parser.add_argument(
            "--san",
            action="append",
            default=[],
            metavar="TYPE:VALUE",
            help=f"a subject alternative name, repeatable; types: {', '.join(SAN_TYPES)} "
            "(e.g. dns:host.example.com, upn:alice@corp.example.com, sid:S-1-5-21-...)",
        )
        parser.add_argument("--challenge", default="", help="challengePassword (static or one-time)")
        parser.add_argument("--renew", metavar="CERT", help="renew: sign with this current certificate")
        parser.add_argument("--out", required=True, help="where to write the issued certificate (PEM)")
        parser.add_argument(
            "--cafile", help="CA certificates (PEM) of the https servers (default: the system's trust store)"
        )
        parser.add_argument("--ca-fingerprint", default="", help="SHA-256 of the CA certificate to pin (hex)")
        parser.add_argument("--legacy", action="store_true", help="allow DES/3DES/SHA-1 (old servers)")
        checkin = parser.add_argument_group("enroll as a device, from its check-in payload")
        checkin.add_argument("--from-checkin", metavar="URL", help="the check-in URL (…/api/v1/checkin/)")
        checkin.add_argument("--device", metavar="EXTERNAL_ID", help="the device's external id")
        checkin.add_argument("--device-token", metavar="TOKEN", help="the device's check-in token")
        checkin.add_argument("--profile", metavar="NAME", help="the SCEP profile, when several apply")

    def handle(self, *args: Any, **options: Any) -> None:
        context = tls_context(options["cafile"]) if options["cafile"] else None
        if options["from_checkin"]:
            request = self._from_checkin(options, context)
            self.stdout.write(f"checked in: SCEP profile {request.profile!r}, {request.url}")
            key = self._key(Path(options["key"]), request.key_size, required=True)
            self._enroll(
                options,
                url=options["url"] or request.url,
                key=key,
                subject=request.subject,
                sans=request.sans,
                challenge=request.challenge,
                current=None,
            )
            return
        for name in ("device", "device_token", "profile"):
            if options[name]:
                raise CommandError(f"--{name.replace('_', '-')} goes with --from-checkin")
        if not options["url"]:
            raise CommandError("give the SCEP URL (or --from-checkin)")
        key = self._key(Path(options["key"]), options["key_size"] or 2048, required=False)
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
        self._enroll(
            options,
            url=options["url"],
            key=key,
            subject=subject,
            sans=_sans(options["san"]),
            challenge=options["challenge"],
            current=current,
        )

    def _enroll(
        self,
        options: dict[str, Any],
        *,
        url: str,
        key: rsa.RSAPrivateKey,
        subject: x509.Name,
        sans: tuple[x509.GeneralName, ...],
        challenge: str,
        current: x509.Certificate | None,
    ) -> None:
        pin = bytes.fromhex(options["ca_fingerprint"]) if options["ca_fingerprint"] else None
        try:
            client = scep.ScepClient(
                url,
                ca_fingerprint=pin,
                policy=scep.AlgorithmPolicy(allow_legacy=options["legacy"]),
                cafile=options["cafile"],
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        csr = scep.build_csr(key, subject, sans=sans, challenge_password=challenge or None)
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

    def _from_checkin(self, options: dict[str, Any], context: ssl.SSLContext | None) -> CheckinRequest:
        for name in ("subject", "san", "challenge", "renew"):
            if options[name]:
                raise CommandError(f"--{name} comes from the check-in payload with --from-checkin")
        if not options["device"] or not options["device_token"]:
            raise CommandError("--from-checkin needs --device and --device-token")
        payload = checkin_fetch(
            options["from_checkin"], device=options["device"], token=options["device_token"], context=context
        )
        request = checkin_request(payload, profile=options["profile"])
        if options["key_size"] and options["key_size"] != request.key_size:
            raise CommandError(
                f"--key-size {options['key_size']}: the profile asks for a {request.key_size}-bit key"
            )
        return request

    def _key(self, path: Path, size: int, *, required: bool) -> rsa.RSAPrivateKey:
        """The key at ``path``, or a new one of ``size`` bits written there (0600).

        ``required``: an existing key must have that size (a one-time challenge is bound to it).
        """
        if path.exists():
            try:
                key = serialization.load_pem_private_key(path.read_bytes(), password=None)
            except (ValueError, TypeError) as exc:
                raise CommandError(f"{path}: not an unencrypted PEM private key ({exc})") from exc
            if not isinstance(key, rsa.RSAPrivateKey):
                raise CommandError("SCEP needs an RSA key (PKCS#1 v1.5 key transport)")
            if required and key.key_size != size:
                raise CommandError(
                    f"{path} is a {key.key_size}-bit key; the profile asks for {size} bits: "
                    "give another --key file (a new key is made there)"
                )
            return key
        if size not in _KEY_SIZES:
            raise CommandError(f"RSA key size {size} is not one of {', '.join(map(str, _KEY_SIZES))}")
        key = rsa.generate_private_key(public_exponent=65537, key_size=size)
        path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        path.chmod(0o600)
        return key


def _sans(texts: list[str]) -> tuple[x509.GeneralName, ...]:
    try:
        return tuple(general_name_from_text(text) for text in texts)
    except ValueError as exc:
        raise CommandError(f"--san {exc}") from exc


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """The device's token is for the check-in URL it was given: a redirect is reported, not followed."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def checkin_fetch(url: str, *, device: str, token: str, context: ssl.SSLContext | None) -> dict[str, Any]:
    """``GET url`` as the device (``Authorization: Device <id>:<token>``): the JSON check-in payload."""
    scheme = urllib.parse.urlsplit(url).scheme
    if scheme not in {"http", "https"}:
        raise CommandError(f"--from-checkin must be an http or https URL, not {scheme!r}")
    handlers: list[urllib.request.BaseHandler] = [_NoRedirect()]
    if scheme == "https":
        handlers.append(urllib.request.HTTPSHandler(context=context or tls_context()))
    opener = urllib.request.build_opener(*handlers)
    request = urllib.request.Request(  # noqa: S310 (scheme checked)
        url, headers={"Authorization": f"Device {device}:{token}", "Accept": "application/json"}
    )
    try:
        with opener.open(request, timeout=30) as response:
            body = response.read(_MAX_CHECKIN_BYTES + 1)
    except urllib.error.HTTPError as exc:
        detail = exc.read(300).decode("utf-8", "replace").strip()
        location = exc.headers.get("Location")
        where = f" (to {location}; give that URL)" if location else ""
        raise CommandError(f"check-in: HTTP {exc.code}{where} {detail}") from exc
    except (OSError, ValueError) as exc:
        raise CommandError(f"check-in: {exc}") from exc
    if len(body) > _MAX_CHECKIN_BYTES:
        raise CommandError(f"check-in: answer larger than {_MAX_CHECKIN_BYTES} bytes")
    try:
        payload = json.loads(body)
    except ValueError as exc:
        raise CommandError(f"check-in: the answer is not JSON: {exc}") from exc
    if not isinstance(payload, dict):
        raise CommandError("check-in: the answer is not a JSON object")
    return payload


def checkin_request(payload: dict[str, Any], *, profile: str | None = None) -> CheckinRequest:
    """The SCEP request of one profile of a check-in payload: ``profile`` by name, or the only one."""
    deliveries = [item for item in payload.get("scep") or [] if isinstance(item, dict)]
    names = ", ".join(repr(item.get("profile")) for item in deliveries) or "none"
    if profile:
        chosen = [item for item in deliveries if item.get("profile") == profile]
        if not chosen:
            raise CommandError(f"the check-in has no SCEP profile {profile!r} (it has {names})")
    else:
        chosen = deliveries
        if len(chosen) != 1:
            raise CommandError(
                f"the check-in has {len(chosen)} SCEP profiles ({names}): choose with --profile"
            )
    item = chosen[0]
    name = str(item.get("profile"))
    if item.get("state") != "challenge_issued" or not isinstance(item.get("challenge"), str):
        reason = item.get("reason") or "no challenge was issued"
        raise CommandError(f"SCEP profile {name!r}: {item.get('state')}: {reason}")
    urls = item.get("scep_server_urls")
    subject, sans, key_size = item.get("subject"), item.get("subject_alternative_names"), item.get("key_size")
    if not (isinstance(urls, list) and urls and all(isinstance(url, str) for url in urls)):
        raise CommandError(f"SCEP profile {name!r}: the payload has no SCEP server URL")
    if not isinstance(subject, str) or not isinstance(sans, list) or not isinstance(key_size, int):
        raise CommandError(f"SCEP profile {name!r}: the payload lacks the subject, SANs or key size")
    try:
        name_value = x509.Name.from_rfc4514_string(subject)
        general_names = tuple(general_name_from_text(str(text)) for text in sans)
    except ValueError as exc:
        raise CommandError(f"SCEP profile {name!r}: cannot rebuild the request: {exc}") from exc
    return CheckinRequest(
        profile=name,
        url=urls[0],
        subject=name_value,
        sans=general_names,
        key_size=key_size,
        challenge=item["challenge"],
    )
