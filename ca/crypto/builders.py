"""Assemble certificates: CA certificates, and end-entity certificates from a template's policy.

Nothing here reads a CSR's extensions: the caller passes the public key, subject and SANs that policy
chose, and the extensions come from the template (key usage, EKUs) and the issuing CA (AKI, CDP, AIA).

The ``*_builder`` functions return the unsigned ``x509.CertificateBuilder``: the CA services hand it to the
CA's key backend, which signs it where the key is (``ca.key_backends``), so no CA key object reaches them.
``build_*`` sign with a key object the caller holds (tests, benchmarks, the pure OCSP and TLS helpers).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ed448, ed25519
from cryptography.hazmat.primitives.asymmetric.types import (
    CertificateIssuerPrivateKeyTypes,
    CertificateIssuerPublicKeyTypes,
    CertificatePublicKeyTypes,
)
from cryptography.x509.oid import AuthorityInformationAccessOID, ObjectIdentifier

from ca.crypto.extensions import ntds_security_extension

__all__ = [
    "CaCertificateSpec",
    "EndEntitySpec",
    "KeyUsageSpec",
    "build_ca_certificate",
    "build_end_entity_certificate",
    "ca_certificate_builder",
    "end_entity_certificate_builder",
    "hash_algorithm",
    "named_hash",
]

_SignatureHash = hashes.SHA256 | hashes.SHA384 | hashes.SHA512

_HASHES: dict[str, type[_SignatureHash]] = {
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}


_EDWARDS = (ed25519.Ed25519PrivateKey, ed448.Ed448PrivateKey, ed25519.Ed25519PublicKey, ed448.Ed448PublicKey)


def hash_algorithm(
    name: str, key: CertificateIssuerPrivateKeyTypes | CertificateIssuerPublicKeyTypes
) -> _SignatureHash | None:
    """The signature hash for ``key`` (private or public); Ed25519/Ed448 sign without a separate hash."""
    if isinstance(key, _EDWARDS):
        return None
    return named_hash(name)


def named_hash(name: str) -> _SignatureHash:
    """``sha256``, ``sha384`` or ``sha512`` as a hash algorithm (KeyError for any other name)."""
    return _HASHES[name]()


@dataclass(frozen=True)
class KeyUsageSpec:
    digital_signature: bool = False
    key_encipherment: bool = False
    non_repudiation: bool = False
    key_agreement: bool = False

    def extension(self) -> x509.KeyUsage:
        return x509.KeyUsage(
            digital_signature=self.digital_signature,
            content_commitment=self.non_repudiation,
            key_encipherment=self.key_encipherment,
            data_encipherment=False,
            key_agreement=self.key_agreement,
            key_cert_sign=False,
            crl_sign=False,
            encipher_only=False,
            decipher_only=False,
        )


@dataclass(frozen=True)
class CaCertificateSpec:
    subject: x509.Name
    #: The CA's own public key (its private half stays in the key backend).
    public_key: CertificateIssuerPublicKeyTypes
    serial: int
    not_before: dt.datetime
    not_after: dt.datetime
    path_length: int | None = None
    #: For a subordinate CA: the parent's certificate. None builds a self-signed root.
    issuer_certificate: x509.Certificate | None = None
    crl_url: str = ""
    issuer_url: str = ""
    #: The parent's OCSP responder (AIA), for a subordinate CA.
    ocsp_url: str = ""
    signature_hash: str = "sha256"


def build_ca_certificate(
    spec: CaCertificateSpec, *, signing_key: CertificateIssuerPrivateKeyTypes
) -> x509.Certificate:
    """A root or subordinate CA certificate signed with ``signing_key`` (the root's own, or the parent's)."""
    return ca_certificate_builder(spec).sign(signing_key, hash_algorithm(spec.signature_hash, signing_key))


def ca_certificate_builder(spec: CaCertificateSpec) -> x509.CertificateBuilder:
    """A root (self-signed) or subordinate CA certificate, unsigned."""
    own_public = spec.public_key
    issuer_name = spec.issuer_certificate.subject if spec.issuer_certificate is not None else spec.subject
    builder = (
        x509.CertificateBuilder()
        .subject_name(spec.subject)
        .issuer_name(issuer_name)
        .public_key(own_public)
        .serial_number(spec.serial)
        .not_valid_before(spec.not_before)
        .not_valid_after(spec.not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=spec.path_length), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(own_public), critical=False)
    )
    if spec.issuer_certificate is not None:
        builder = builder.add_extension(_aki(spec.issuer_certificate), critical=False)
        builder = _add_distribution(
            builder, crl_url=spec.crl_url, issuer_url=spec.issuer_url, ocsp_url=spec.ocsp_url
        )
    else:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(own_public), critical=False
        )
    return builder


@dataclass(frozen=True)
class EndEntitySpec:
    public_key: CertificatePublicKeyTypes
    subject: x509.Name
    sans: Sequence[x509.GeneralName]
    serial: int
    not_before: dt.datetime
    not_after: dt.datetime
    key_usage: KeyUsageSpec
    extended_key_usages: Sequence[str] = field(default_factory=tuple)
    crl_url: str = ""
    issuer_url: str = ""
    ocsp_url: str = ""
    sid: str | None = None
    signature_hash: str = "sha256"
    #: id-pkix-ocsp-nocheck (RFC 6960 4.2.2.2.1): a delegated OCSP responder's certificate is not checked.
    ocsp_no_check: bool = False


def build_end_entity_certificate(
    spec: EndEntitySpec, *, issuer_certificate: x509.Certificate, issuer_key: CertificateIssuerPrivateKeyTypes
) -> x509.Certificate:
    """An end-entity certificate signed with ``issuer_key``."""
    builder = end_entity_certificate_builder(spec, issuer_certificate=issuer_certificate)
    return builder.sign(issuer_key, hash_algorithm(spec.signature_hash, issuer_key))


def end_entity_certificate_builder(
    spec: EndEntitySpec, *, issuer_certificate: x509.Certificate
) -> x509.CertificateBuilder:
    """An end-entity certificate issued by ``issuer_certificate``'s CA, unsigned."""
    if not spec.sans and not spec.subject.rdns:
        raise ValueError("a certificate needs a subject or at least one subject alternative name")
    builder = (
        x509.CertificateBuilder()
        .subject_name(spec.subject)
        .issuer_name(issuer_certificate.subject)
        .public_key(spec.public_key)
        .serial_number(spec.serial)
        .not_valid_before(spec.not_before)
        .not_valid_after(spec.not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(spec.key_usage.extension(), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(spec.public_key), critical=False)
        .add_extension(_aki(issuer_certificate), critical=False)
    )
    if spec.extended_key_usages:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ObjectIdentifier(oid) for oid in spec.extended_key_usages]), critical=False
        )
    if spec.sans:
        # RFC 5280 4.2.1.6: critical when the subject is empty.
        builder = builder.add_extension(
            x509.SubjectAlternativeName(list(spec.sans)), critical=not spec.subject.rdns
        )
    if spec.sid:
        builder = builder.add_extension(ntds_security_extension(spec.sid), critical=False)
    if spec.ocsp_no_check:
        builder = builder.add_extension(x509.OCSPNoCheck(), critical=False)
    return _add_distribution(
        builder, crl_url=spec.crl_url, issuer_url=spec.issuer_url, ocsp_url=spec.ocsp_url
    )


def _aki(issuer_certificate: x509.Certificate) -> x509.AuthorityKeyIdentifier:
    try:
        ski = issuer_certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    except x509.ExtensionNotFound:
        return x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_certificate.public_key())  # type: ignore[arg-type]
    return x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski)


def _add_distribution(
    builder: x509.CertificateBuilder, *, crl_url: str, issuer_url: str, ocsp_url: str = ""
) -> x509.CertificateBuilder:
    if crl_url:
        builder = builder.add_extension(
            x509.CRLDistributionPoints(
                [
                    x509.DistributionPoint(
                        full_name=[x509.UniformResourceIdentifier(crl_url)],
                        relative_name=None,
                        reasons=None,
                        crl_issuer=None,
                    )
                ]
            ),
            critical=False,
        )
    access = []
    if ocsp_url:
        access.append(
            x509.AccessDescription(
                AuthorityInformationAccessOID.OCSP, x509.UniformResourceIdentifier(ocsp_url)
            )
        )
    if issuer_url:
        access.append(
            x509.AccessDescription(
                AuthorityInformationAccessOID.CA_ISSUERS, x509.UniformResourceIdentifier(issuer_url)
            )
        )
    if access:
        builder = builder.add_extension(x509.AuthorityInformationAccess(access), critical=False)
    return builder
