"""Certificate revocation lists (RFC 5280 section 5)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes

from ca.crypto.builders import hash_algorithm

__all__ = ["RevokedEntry", "build_crl", "crl_builder", "revoked_certificates"]

_EARLIEST = dt.datetime(1950, 1, 1)  # noqa: DTZ001  (naive UTC, as the builders keep dates)


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

    The entries are built in one pass and handed to the builder as one list: adding them one by one
    (``add_revoked_certificate``) copies the list each time, which is quadratic (hours for a million).
    """
    try:
        ski = issuer_certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        aki = x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski)
    except x509.ExtensionNotFound:
        aki = x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_certificate.public_key())  # type: ignore[arg-type]
    return (
        x509.CertificateRevocationListBuilder(revoked_certificates=revoked_certificates(revoked))
        .issuer_name(issuer_certificate.subject)
        .last_update(this_update)
        .next_update(next_update)
        .add_extension(x509.CRLNumber(number), critical=False)
        .add_extension(aki, critical=False)
    )


def revoked_certificates(entries: Iterable[RevokedEntry]) -> list[x509.RevokedCertificate]:
    """The CRL entries, with the checks of ``RevokedCertificateBuilder``'s setters (positive serial of at
    most 159 bits, a date from 1950 on, kept in UTC) done once per entry instead of through a chain of
    intermediate builders, and one CRLReason extension object per reason.
    """
    reasons: dict[x509.ReasonFlags, list[x509.Extension[x509.ExtensionType]]] = {}
    built = []
    for entry in entries:
        serial = entry.serial
        if not 0 < serial < 1 << 159:
            raise ValueError(f"serial {serial:x}: must be positive and at most 159 bits (RFC 5280)")
        revoked_at = entry.revoked_at
        if revoked_at.tzinfo is not None:
            revoked_at = revoked_at.astimezone(dt.UTC).replace(tzinfo=None)
        if revoked_at < _EARLIEST:
            raise ValueError(f"serial {serial:x}: a revocation date before 1950 cannot be encoded")
        extensions = reasons.get(entry.reason)
        if extensions is None:
            extensions = reasons[entry.reason] = (
                []
                if entry.reason == x509.ReasonFlags.unspecified
                else [x509.Extension(x509.CRLReason.oid, False, x509.CRLReason(entry.reason))]
            )
        built.append(x509.RevokedCertificateBuilder(serial, revoked_at, extensions).build())
    return built
