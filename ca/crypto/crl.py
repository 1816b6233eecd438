"""Certificate revocation lists (RFC 5280 section 5)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes

from ca.crypto.builders import hash_algorithm

__all__ = ["RevokedEntry", "build_crl", "crl_builder"]


@dataclass(frozen=True)
class RevokedEntry:
    serial: int
    revoked_at: dt.datetime
    reason: x509.ReasonFlags


def build_crl(
    *,
    issuer_certificate: x509.Certificate,
    issuer_key: CertificateIssuerPrivateKeyTypes,
    number: int,
    this_update: dt.datetime,
    next_update: dt.datetime,
    revoked: Iterable[RevokedEntry],
    signature_hash: str = "sha256",
) -> x509.CertificateRevocationList:
    """``crl_builder``'s CRL signed with ``issuer_key`` (the CA services sign through the key backend)."""
    builder = crl_builder(
        issuer_certificate=issuer_certificate,
        number=number,
        this_update=this_update,
        next_update=next_update,
        revoked=revoked,
    )
    return builder.sign(issuer_key, hash_algorithm(signature_hash, issuer_key))


def crl_builder(
    *,
    issuer_certificate: x509.Certificate,
    number: int,
    this_update: dt.datetime,
    next_update: dt.datetime,
    revoked: Iterable[RevokedEntry],
) -> x509.CertificateRevocationListBuilder:
    """A full CRL with CRLNumber and AKI, unsigned; reason codes except 'unspecified' (RFC 5280 5.3.1 says
    omit it).
    """
    try:
        ski = issuer_certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        aki = x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski)
    except x509.ExtensionNotFound:
        aki = x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_certificate.public_key())  # type: ignore[arg-type]
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(issuer_certificate.subject)
        .last_update(this_update)
        .next_update(next_update)
        .add_extension(x509.CRLNumber(number), critical=False)
        .add_extension(aki, critical=False)
    )
    for entry in revoked:
        revoked_builder = (
            x509.RevokedCertificateBuilder().serial_number(entry.serial).revocation_date(entry.revoked_at)
        )
        if entry.reason != x509.ReasonFlags.unspecified:
            revoked_builder = revoked_builder.add_extension(x509.CRLReason(entry.reason), critical=False)
        builder = builder.add_revoked_certificate(revoked_builder.build())
    return builder
