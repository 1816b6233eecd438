"""The certificate authority's records, one module per idea (Django loads them from here)."""

from ca.models.authorities import CertificateAuthority
from ca.models.certificates import CertificateRevocationList, IssuedCertificate
from ca.models.ocsp import OcspResponder
from ca.models.pkcs import PkcsRequest
from ca.models.requests import CertificateRequest
from ca.models.revocations import RevocationRequest, RevocationRequestItem
from ca.models.rollovers import AuthorityRollover
from ca.models.templates import CertificateTemplate

__all__ = [
    "AuthorityRollover",
    "CertificateAuthority",
    "CertificateRequest",
    "CertificateRevocationList",
    "CertificateTemplate",
    "IssuedCertificate",
    "OcspResponder",
    "PkcsRequest",
    "RevocationRequest",
    "RevocationRequestItem",
]
