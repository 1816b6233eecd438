"""Creating certificate authorities (needs the CA key passphrase: run on the CA side)."""

from __future__ import annotations

import datetime as dt
import logging

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from django.db import transaction
from django.utils import timezone

from ca.conf import ca_settings
from ca.constants import BACKDATE_SECONDS
from ca.crypto.builders import CaCertificateSpec, ca_certificate_builder
from ca.crypto.canonical import subject_sha256
from ca.crypto.keys import KeySpec, describe_public_key
from ca.crypto.serials import random_serial, serial_to_hex
from ca.exceptions import AuthorityUnavailable, PolicyViolation
from ca.key_backends import key_backends
from ca.models import CertificateAuthority

__all__ = ["authority_create", "authority_urls"]

logger = logging.getLogger(__name__)


def authority_urls(slug: str, *, base_url: str | None = None) -> dict[str, str]:
    """The stable public URLs of a CA: its CRL, its certificate and its OCSP responder (for CDP and AIA)."""
    base = (base_url or ca_settings().BASE_URL).rstrip("/")
    return {
        "crl_url": f"{base}/crl/{slug}.crl",
        "issuer_url": f"{base}/ca/{slug}.crt",
        "ocsp_url": f"{base}/ocsp/{slug}",
    }


@transaction.atomic
def authority_create(
    *,
    name: str,
    slug: str,
    subject: x509.Name,
    key_spec: KeySpec,
    validity_days: int,
    parent: CertificateAuthority | None = None,
    path_length: int | None = None,
    key_backend: str = "default",
    key_token: str = "",
    key_label: str = "",
    base_url: str | None = None,
) -> CertificateAuthority:
    """Create a root CA (``parent`` None) or a subordinate CA signed by ``parent``.

    The new key is created by the key backend (in the PKCS#11 token ``key_token`` under ``key_label``, for
    such a backend) and never leaves it in clear; the certificate is signed by the parent's backend, or by
    the new key's own for a root. The subordinate's validity is capped to the parent's remaining validity.
    """
    if validity_days < 1:
        raise PolicyViolation("validity must be at least one day", code="validity_not_allowed")
    now = timezone.now()
    not_before = now - dt.timedelta(seconds=BACKDATE_SECONDS)
    not_after = now + dt.timedelta(days=validity_days)
    backend = key_backends[key_backend]
    signer = backend
    issuer_certificate = None
    crl_url = issuer_url = ocsp_url = ""
    if parent is not None:
        if not parent.enabled:
            raise AuthorityUnavailable(f"parent CA {parent} is disabled")
        if parent.not_after <= now:
            raise AuthorityUnavailable(f"parent CA {parent} has expired")
        signer = key_backends[parent.key_backend]
        signer.public_key(parent.key_reference)  # the parent's key is usable here, before a key is made
        issuer_certificate = parent.certificate
        not_after = min(not_after, parent.not_after)
        crl_url, issuer_url, ocsp_url = parent.crl_url, parent.issuer_url, parent.ocsp_url
    # Check the names before a key exists, so that a refused CA leaves no key behind.
    others = [f.name for f in CertificateAuthority._meta.fields if f.name not in {"name", "slug"}]
    candidate = CertificateAuthority(name=name, slug=slug)
    candidate.clean_fields(exclude=others)
    candidate.validate_unique(exclude=others)
    public_key, reference = backend.create_key(spec=key_spec, name=slug, token=key_token, label=key_label)
    try:
        serial = random_serial()
        builder = ca_certificate_builder(
            CaCertificateSpec(
                subject=subject,
                public_key=public_key,
                serial=serial,
                not_before=not_before,
                not_after=not_after,
                path_length=path_length,
                issuer_certificate=issuer_certificate,
                crl_url=crl_url,
                issuer_url=issuer_url,
                ocsp_url=ocsp_url,
            )
        )
        signing_reference = parent.key_reference if parent is not None else reference
        certificate = signer.sign_certificate(signing_reference, builder, signature_hash="sha256")
        key_type, key_size = describe_public_key(public_key)
        urls = authority_urls(slug, base_url=base_url)
        authority = CertificateAuthority(
            name=name,
            slug=slug,
            parent=parent,
            certificate_pem=certificate.public_bytes(serialization.Encoding.PEM).decode("ascii"),
            serial=serial_to_hex(serial),
            subject=certificate.subject.rfc4514_string(),
            subject_sha256=subject_sha256(certificate.subject),
            not_before=certificate.not_valid_before_utc,
            not_after=certificate.not_valid_after_utc,
            fingerprint_sha1=certificate.fingerprint(hashes.SHA1()).hex().upper(),  # noqa: S303 - a thumbprint, not a signature
            fingerprint_sha256=certificate.fingerprint(hashes.SHA256()).hex().upper(),
            key_type=key_type,
            key_size=key_size,
            key_backend=key_backend,
            key_reference=reference,
            crl_url=urls["crl_url"],
            issuer_url=urls["issuer_url"],
            ocsp_url=urls["ocsp_url"],
        )
        authority.full_clean()
        authority.save()
    except BaseException:
        backend.discard_key(reference)
        raise
    logger.info("created CA %s (%s, %s)", authority.slug, authority.subject, key_spec)
    return authority
