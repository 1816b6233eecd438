"""Reads of the certificate authority that carry policy or span relations."""

from __future__ import annotations

from cryptography import x509

from ca.crypto.canonical import subject_sha256
from ca.crypto.serials import serial_to_hex
from ca.models import CertificateAuthority, CertificateRevocationList, IssuedCertificate

__all__ = [
    "authority_list_by_subject",
    "certificate_get_by_fingerprint",
    "certificate_get_by_issuer_and_serial",
    "crl_get_latest",
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
