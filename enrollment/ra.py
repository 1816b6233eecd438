"""The RA's key and certificates, decrypted once per process (parsing an RSA key costs milliseconds).

An RA that cannot be loaded is recorded in the event log as the connector records a missing enrollment
certificate (10302 RetrieveCertificate_Error): 0x00000408 when its certificate cannot be read (what devices
encrypt to), 0x00000409 when its key cannot be (what signs CertReps). An expired RA certificate is
recorded (0x00000405) when it is loaded, and still served: the renewal job (``enrollment.jobs``) replaces it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import cached_property

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils import timezone

from core.exceptions import ApplicationError
from enrollment import scep
from enrollment.conf import enrollment_settings
from enrollment.models import RegistrationAuthority
from eventlog.choices import DiagnosticCode, EventId, EventLevel
from eventlog.services import event_record

__all__ = ["RaIdentity", "RaUnavailable", "ra_identity", "ra_key_encrypt"]


class RaUnavailable(ApplicationError):
    """The RA cannot be used. ``diagnostic_code``: 0x00000408 (its certificate) or 0x00000409 (its key)."""

    code = "ra_unavailable"
    http_status = 503

    def __init__(
        self,
        message: str,
        *,
        diagnostic_code: DiagnosticCode = DiagnosticCode.CRP_SCEP_SIGNING_CERT_NOT_FOUND,
    ) -> None:
        super().__init__(message)
        self.diagnostic_code = diagnostic_code


@dataclass(frozen=True)
class RaIdentity:
    certificate: x509.Certificate
    key: rsa.RSAPrivateKey
    #: The issuing CA's certificate and its issuers up to the root.
    ca_chain: tuple[x509.Certificate, ...]
    #: The RA's CA (the first of ``ca_chain``).
    authority_id: int | None = None

    @cached_property
    def ca_ra_bundle(self) -> bytes:
        """GetCACert's answer in RA mode: a degenerate PKCS#7 of the RA certificate, then the CA chain.
        Built once per identity: the identity is cached by the RA's fingerprint, so a new RA certificate is
        a new identity and a new bundle.
        """
        return scep.build_degenerate(certificates=[self.certificate, *self.ca_chain])


_cache: dict[tuple[int, str], RaIdentity] = {}
_lock = threading.Lock()


def _passphrase() -> bytes:
    value = enrollment_settings().RA_KEY_PASSPHRASE.get_secret_value()
    if not value:
        raise RaUnavailable("this process has no RA key passphrase (CERTPORTAL_RA_KEY_PASSPHRASE)")
    return value.encode("utf-8")


def ra_key_encrypt(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(_passphrase()),
    ).decode("ascii")


def ra_identity(ra: RegistrationAuthority, *, service_slug: str = "") -> RaIdentity:
    """The RA's certificate, key and CA chain; RaUnavailable (recorded as 10302) if it cannot be loaded."""
    cache_key = (ra.pk, ra.fingerprint_sha256)
    with _lock:
        identity = _cache.get(cache_key)
    if identity is not None:
        return identity
    try:
        identity = _load(ra)
    except RaUnavailable as exc:
        _record(ra, service_slug, exc.diagnostic_code, f"the RA cannot be loaded: {exc.message}")
        raise
    if identity.certificate.not_valid_after_utc <= timezone.now():
        _record(
            ra,
            service_slug,
            DiagnosticCode.CERTIFICATE_EXPIRED,
            f"the RA certificate expired on {identity.certificate.not_valid_after_utc:%Y-%m-%d %H:%M} UTC; "
            "devices may refuse its CertReps until the renewal job replaces it",
        )
    with _lock:
        _cache[cache_key] = identity
    return identity


def _load(ra: RegistrationAuthority) -> RaIdentity:
    try:
        certificate = ra.certificate
    except ValueError as exc:
        raise RaUnavailable(
            f"the RA certificate cannot be read: {exc}",
            diagnostic_code=DiagnosticCode.CRP_SCEP_CERT_NOT_FOUND,
        ) from exc
    try:
        key = serialization.load_pem_private_key(ra.encrypted_key_pem.encode("ascii"), password=_passphrase())
    except (ValueError, TypeError) as exc:
        raise RaUnavailable("the RA key cannot be decrypted: wrong CERTPORTAL_RA_KEY_PASSPHRASE?") from exc
    if not isinstance(key, rsa.RSAPrivateKey):
        raise RaUnavailable("the RA key must be an RSA key (SCEP key transport)")
    chain = tuple(authority.certificate for authority in ra.authority.chain())
    return RaIdentity(certificate=certificate, key=key, ca_chain=chain, authority_id=ra.authority_id)


def _record(ra: RegistrationAuthority, service_slug: str, code: DiagnosticCode, message: str) -> None:
    event_record(
        event_id=EventId.RETRIEVE_CERTIFICATE_ERROR,
        level=EventLevel.ERROR,
        message=message,
        diagnostic_code=code,
        details={"registration_authority": ra.name, "registration_authority_id": ra.pk},
        service_slug=service_slug,
        thumbprint=ra.fingerprint_sha1,
    )


@receiver(setting_changed)
def _reset(*, setting: str, **kwargs: object) -> None:
    if setting == "CERTPORTAL_RA_KEY_PASSPHRASE":
        with _lock:
            _cache.clear()
