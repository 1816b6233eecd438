"""Reads of the certificate authority that carry policy or span relations."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from cryptography import x509

from django.utils import timezone

from ca.crypto.canonical import subject_sha256
from ca.crypto.serials import serial_to_hex
from ca.models import CertificateAuthority, CertificateRevocationList, IssuedCertificate, OcspResponder

__all__ = [
    "CertificateRevocationState",
    "authority_list_by_subject",
    "certificate_get_by_fingerprint",
    "certificate_get_by_issuer_and_serial",
    "certificate_revocation_state_get",
    "crl_get_latest",
    "ocsp_responder_get_current",
]


def crl_get_latest(*, authority: CertificateAuthority) -> CertificateRevocationList | None:
    return authority.crls.order_by("-number").first()


def certificate_get_by_fingerprint(*, fingerprint_sha256: str) -> IssuedCertificate | None:
    """The certificate with this SHA-256 thumbprint (upper-case hex), with its CA, template and request."""
    return (
        IssuedCertificate.objects.select_related("authority", "template", "request")
        .filter(fingerprint_sha256=fingerprint_sha256.upper())
        .first()
    )


def authority_list_by_subject(*, subject: x509.Name) -> list[CertificateAuthority]:
    """Our CAs named ``subject`` (compared canonically), newest first: a rollover CA may share its name."""
    return list(
        CertificateAuthority.objects.filter(subject_sha256=subject_sha256(subject)).order_by("-not_before")
    )


def certificate_get_by_issuer_and_serial(*, issuer: x509.Name, serial: int) -> IssuedCertificate | None:
    """The certificate an IssuerAndSerialNumber names (GetCert, GetCRL), with its CA."""
    return (
        IssuedCertificate.objects.select_related("authority")
        .filter(authority__subject_sha256=subject_sha256(issuer), serial=serial_to_hex(serial))
        .first()
    )


def ocsp_responder_get_current(
    *, authority: CertificateAuthority, now: dt.datetime | None = None
) -> OcspResponder | None:
    """The responder that signs ``authority``'s OCSP responses now: the newest one valid at ``now`` whose
    certificate is not revoked (a renewed responder takes over; the one it replaces just expires).
    """
    now = now or timezone.now()
    return (
        OcspResponder.objects.defer("encrypted_key_pem")  # read once per process, when first used
        .filter(
            authority=authority,
            not_before__lte=now,
            not_after__gt=now,
            certificate__revoked_at__isnull=True,
        )
        .order_by("-not_before", "-pk")
        .first()
    )


@dataclass(frozen=True)
class CertificateRevocationState:
    """What OCSP needs of a certificate we issued: whether, when and why it was revoked."""

    revoked_at: dt.datetime | None
    revocation_reason: str


def certificate_revocation_state_get(
    *, authority: CertificateAuthority, serial: int
) -> CertificateRevocationState | None:
    """The live revocation state of the certificate ``authority`` issued with ``serial`` (read from the row
    that revocation writes, so OCSP flips when the revocation commits, with the CRL); None when
    ``authority`` issued no such certificate. A subordinate CA's certificate counts (CAs are not revoked).
    """
    if not 0 < serial < 1 << 160:  # RFC 5280 4.1.2.2: positive, at most 20 octets
        return None
    serial_hex = serial_to_hex(serial)
    row = (
        IssuedCertificate.objects.filter(authority=authority, serial=serial_hex)
        .values_list("revoked_at", "revocation_reason")
        .first()
    )
    if row is not None:
        return CertificateRevocationState(revoked_at=row[0], revocation_reason=row[1])
    if CertificateAuthority.objects.filter(parent=authority, serial=serial_hex).exists():
        return CertificateRevocationState(revoked_at=None, revocation_reason="")
    return None
