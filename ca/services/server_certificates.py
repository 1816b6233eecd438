"""The portal's own TLS server certificate (its front door, as the server authentication certificate bound
in IIS on an NDES server): issued by one of our CAs through the ordinary request queue, renewed by beat.

RA side: the key is generated where the command or the job runs and written, with the certificate and its
chain, to a directory (``ca.tls_directory``, ``CERTPORTAL_TLS_DIR``); the CA worker only signs the CSR.
Nothing here loads a CA key or imports the CA worker's modules. Which TLS server reads the files is not the
CA's business (deploy/nginx/ holds one configuration that does).

The renewal job renews the certificate it finds in the directory, as it is: same CA, template, names and
key type, once less than ``CERTPORTAL_TLS_RENEWAL_THRESHOLD`` of its lifetime is left, or at once when it
has expired or was revoked. Recorded as the connector records its own certificate's renewal: 10100
renewed, 10102 not (tried again on the next run), 10302 for a file that cannot be read, 10301 for a
certificate that none of our CAs issued (not renewed: run the command).
"""

from __future__ import annotations

import ipaddress
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from django.utils import timezone

from ca.choices import CertificateRequestStatus, TemplatePurpose
from ca.conf import ca_settings
from ca.crypto.keys import KeyPolicyError, KeySpec, describe_public_key, generate_private_key
from ca.crypto.serials import serial_to_hex
from ca.exceptions import PolicyViolation
from ca.models import CertificateAuthority, CertificateTemplate, IssuedCertificate
from ca.selectors import certificate_get_by_fingerprint
from ca.services.submission import certificate_request_submit, certificate_request_wait
from ca.tls_directory import TlsDirectory, TlsDirectoryError
from core.exceptions import ApplicationError
from eventlog.choices import DiagnosticCode, EventId, EventLevel
from eventlog.services import EventLinks, event_record

__all__ = [
    "SERVER_AUTH",
    "SERVER_TEMPLATE_NAME",
    "ServerNames",
    "server_certificate_issue",
    "server_certificate_renew_due",
    "server_certificate_template",
    "tls_directory_configured",
]

logger = logging.getLogger(__name__)

#: AD CS's built-in template for TLS server certificates has this name.
SERVER_TEMPLATE_NAME = "WebServer"
SERVER_AUTH = ExtendedKeyUsageOID.SERVER_AUTH.dotted_string
#: What every TLS client takes (and the reference's NDES examples use).
DEFAULT_KEY = KeySpec("RSA", 2048)

_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_DNS_NAME = re.compile(rf"^{_LABEL}(?:\.{_LABEL})*$")


@dataclass(frozen=True)
class ServerNames:
    """The names of a TLS server: the public name (subject CN and first DNS SAN), then the other DNS
    names and the IP addresses it is reached by (the reference: "a Subject Name with an external public
    server name, a Subject Alternative Name that includes the internal server name").
    """

    common_name: str
    dns_names: tuple[str, ...] = ()
    ip_addresses: tuple[ipaddress.IPv4Address | ipaddress.IPv6Address, ...] = ()

    @classmethod
    def parse(
        cls, *, common_name: str, dns_names: Iterable[str] = (), ip_addresses: Iterable[str] = ()
    ) -> ServerNames:
        """Checked and normalised (lower case, no duplicates); raises ApplicationError for a bad name."""
        public = _dns_name(common_name)
        others = tuple(dict.fromkeys(name for name in map(_dns_name, dns_names) if name != public))
        addresses: list[ipaddress.IPv4Address | ipaddress.IPv6Address] = []
        for text in ip_addresses:
            try:
                address = ipaddress.ip_address(text.strip())
            except ValueError as exc:
                raise ApplicationError(f"{text!r} is not an IP address", code="server_name_invalid") from exc
            if address not in addresses:
                addresses.append(address)
        return cls(common_name=public, dns_names=others, ip_addresses=tuple(addresses))

    @classmethod
    def from_certificate(cls, certificate: x509.Certificate) -> ServerNames:
        """The names a certificate was issued for (its CN, or else its first DNS name, is the public name)."""
        try:
            sans = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        except x509.ExtensionNotFound:
            sans = x509.SubjectAlternativeName([])
        dns = sans.get_values_for_type(x509.DNSName)
        common = [str(a.value) for a in certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
        public = common[0] if common else (dns[0] if dns else "")
        return cls.parse(
            common_name=public,
            dns_names=dns,
            ip_addresses=[str(a) for a in sans.get_values_for_type(x509.IPAddress)],
        )

    @property
    def subject(self) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, self.common_name)])

    @property
    def sans(self) -> list[x509.GeneralName]:
        names: list[x509.GeneralName] = [x509.DNSName(n) for n in (self.common_name, *self.dns_names)]
        return names + [x509.IPAddress(address) for address in self.ip_addresses]

    def __str__(self) -> str:
        return ", ".join([self.common_name, *self.dns_names, *map(str, self.ip_addresses)])


def _dns_name(text: str) -> str:
    name = text.strip().rstrip(".").lower()
    if len(name) > 253 or not _DNS_NAME.match(name):  # RFC 1035's limit
        raise ApplicationError(
            f"{text!r} is not a DNS name (letters, digits and hyphens, dot-separated; no wildcards)",
            code="server_name_invalid",
        )
    if len(name) > 64:  # ub-common-name (RFC 5280)
        raise ApplicationError(f"{name!r} is longer than 64 characters", code="server_name_invalid")
    return name


def tls_directory_configured() -> TlsDirectory | None:
    """``CERTPORTAL_TLS_DIR``, or None when it is not set."""
    path = ca_settings().TLS_DIR
    return TlsDirectory(Path(path)) if path else None


def server_certificate_template() -> CertificateTemplate:
    """The template of TLS server certificates (created when missing; an administrator may change it):
    digital signature and key encipherment (key agreement for an EC key), Server Authentication only, a
    year (what every TLS client accepts of a private CA: Apple's limit is 825 days).
    """
    template, _ = CertificateTemplate.objects.get_or_create(
        name=SERVER_TEMPLATE_NAME,
        defaults={
            "display_name": "Web server (TLS server authentication)",
            "purpose": TemplatePurpose.SIGNATURE_AND_ENCRYPTION,
            "validity_days": 365,
            "digital_signature": True,
            "key_encipherment": True,
            "application_policies": [SERVER_AUTH],
        },
    )
    return template


def server_certificate_issue(
    *,
    authority: CertificateAuthority,
    names: ServerNames,
    directory: TlsDirectory,
    key_spec: KeySpec = DEFAULT_KEY,
    template: CertificateTemplate | None = None,
    wait: float = 60.0,
) -> IssuedCertificate:
    """A new key and a TLS server certificate for ``names`` from ``authority``, installed in ``directory``.

    Without ``template``, the ``WebServer`` template (created and published to the CA when missing); a
    template given must allow Server Authentication and be published to the CA. Raises ApplicationError
    (PolicyViolation for what the CA's policy refuses) and nothing is written then.
    """
    if template is None:
        template = server_certificate_template()
        authority.published_templates.add(template)
    elif SERVER_AUTH not in template.application_policies:
        raise PolicyViolation(
            f"certificate template {template.name} does not allow Server Authentication ({SERVER_AUTH})",
            code="extended_key_usage_not_allowed",
        )
    key = generate_private_key(key_spec)
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(names.subject)
        .add_extension(x509.SubjectAlternativeName(names.sans), critical=False)
        .sign(key, hashes.SHA256())
    )
    try:
        with directory.locked():  # first: a directory we cannot write fails before anything is issued
            request = certificate_request_submit(
                authority=authority,
                template=template,
                csr=csr,
                subject=names.subject,
                sans=names.sans,
                requester=f"tls:{names.common_name}",
                extended_key_usages=[SERVER_AUTH],
            )
            request = certificate_request_wait(request=request, timeout=wait)
            if request.status != CertificateRequestStatus.ISSUED:
                raise ApplicationError(
                    f"the CA did not issue the TLS server certificate (request {request.pk} is "
                    f"{request.status}{': ' + request.failure_reason if request.failure_reason else ''}); "
                    "is the CA worker running?",
                    code="server_certificate_not_issued",
                )
            issued = IssuedCertificate.objects.get(request=request)
            chain = [ca.certificate for ca in authority.chain() if not ca.is_root]
            release = directory.install(key=key, certificate=issued.certificate, chain=chain)
    except TlsDirectoryError as exc:
        raise ApplicationError(str(exc), code="tls_directory_unwritable") from exc
    logger.info("installed TLS server certificate %s (%s) in %s", issued.serial, names, release)
    return issued


def server_certificate_renew_due(
    *, directory: TlsDirectory | None = None, wait: float = 60.0
) -> IssuedCertificate | None:
    """The renewal job: renew the certificate in ``directory`` (default ``CERTPORTAL_TLS_DIR``) when it is
    due; return the new certificate, or None (nothing there, not due, or not renewed: see the event log).
    """
    directory = directory or tls_directory_configured()
    if directory is None:
        return None
    about: dict[str, object] = {"tls_directory": str(directory.path)}
    try:
        current = directory.current_certificate()
    except TlsDirectoryError as exc:
        event_record(
            event_id=EventId.RETRIEVE_CERTIFICATE_ERROR,
            level=EventLevel.ERROR,
            message=f"the TLS server certificate cannot be read: {exc}",
            diagnostic_code=DiagnosticCode.CERTIFICATE_NOT_FOUND,
            details=about,
        )
        return None
    if current is None:
        return None  # nothing installed here (yet): nothing to renew
    thumbprint = current.fingerprint(hashes.SHA1()).hex().upper()  # noqa: S303 - the thumbprint, not a signature
    links = EventLinks(serial=serial_to_hex(current.serial_number), thumbprint=thumbprint)
    issued = certificate_get_by_fingerprint(fingerprint_sha256=current.fingerprint(hashes.SHA256()).hex())
    if issued is None:
        event_record(
            event_id=EventId.RETRIEVE_CERTIFICATE_WARNING,
            level=EventLevel.WARNING,
            message=f"the TLS server certificate in {directory.path} was not issued by one of our CAs; it is "
            "not renewed (manage.py tls_certificate installs one that is)",
            diagnostic_code=DiagnosticCode.CERT_THUMBPRINT_NOT_FOUND,
            details=about,
            **links,
        )
        return None
    links.update(
        EventLinks(
            authority_slug=issued.authority.slug,
            ca_name=issued.authority.name,
            template_name=issued.template.name,
        )
    )
    now = timezone.now()
    not_before, not_after = current.not_valid_before_utc, current.not_valid_after_utc
    expired, revoked = not_after <= now, issued.revoked_at is not None
    threshold = ca_settings().TLS_RENEWAL_THRESHOLD
    if not (expired or revoked) and (not_after - now) >= (not_after - not_before) * threshold:
        return None
    try:
        names = ServerNames.from_certificate(current)
        key_type, size = describe_public_key(current.public_key())
        new = server_certificate_issue(
            authority=issued.authority,
            names=names,
            directory=directory,
            key_spec=KeySpec(key_type, size),
            template=issued.template,
            wait=wait,
        )
    except (ApplicationError, KeyPolicyError, TlsDirectoryError) as exc:
        _renewal_failed(exc, expired=expired, about=about, links=links)
        return None
    except Exception as exc:  # the job must record what stopped it; it runs again in an hour
        logger.exception("could not renew the TLS server certificate in %s", directory.path)
        _renewal_failed(exc, expired=expired, about=about, links=links)
        return None
    why = f"less than {threshold:.0%} of its lifetime was left"
    if expired or revoked:
        why = "it had expired" if expired else "it was revoked"
    links.update(EventLinks(serial=new.serial, thumbprint=new.fingerprint_sha1))
    event_record(
        event_id=EventId.CERTIFICATE_RENEWAL_SUCCESS,
        message=f"renewed the TLS server certificate ({names}): {new.fingerprint_sha1} until "
        f"{new.not_after:%Y-%m-%d}; {why}",
        diagnostic_code=DiagnosticCode.SUCCESS,
        details={**about, "previous_thumbprint": thumbprint, "certificate_id": new.pk},
        **links,
    )
    return new


def _renewal_failed(
    exc: BaseException, *, expired: bool, about: dict[str, object], links: EventLinks
) -> None:
    message = exc.message if isinstance(exc, ApplicationError) else str(exc)
    event_record(
        event_id=EventId.CERTIFICATE_RENEWAL_FAILURE,
        level=EventLevel.ERROR,
        message=f"the TLS server certificate could not be renewed: {message}",
        diagnostic_code=DiagnosticCode.CERTIFICATE_EXPIRED if expired else DiagnosticCode.UNKNOWN_ERROR,
        details={**about, "error": type(exc).__name__},
        **links,
    )
