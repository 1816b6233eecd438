"""PKCS certificates: the CA generates the key pair, issues the certificate and delivers a PKCS#12.

Three steps, on the two sides of the ``ca`` queue:

1. :func:`pkcs_request_submit` (RA side, the web tier): records what policy chose (names, key, template)
   and, once the transaction commits, sends ``ca.tasks.pkcs_certificate_issue_task`` by name.
2. ``ca.services.pkcs_issuance.pkcs_certificate_issue`` (the CA worker): generates the key, checks the
   request against the template and the CA like any other (``certificate_request_check``), queues a
   ``CertificateRequest`` with a CSR made with the new key and signs it through the ordinary issuance service
   (``ca.services.issuance.certificate_issue``), then keeps only the PKCS#12 encrypted with the delivery's
   password. Recorded as the connector's 20100 PkcsCertIssue_Success or 20102 PkcsCertIssue_Failure
   (0x00000400 when the CA is disabled or expired, 0x0FFFFFFF otherwise), with the holder the requester
   named, the CA, the template and the certificate's thumbprint.
3. :func:`pkcs_bundle_deliver` (RA side): hands the PKCS#12 and its password over once and deletes the
   PKCS#12: the private key is kept nowhere after delivery. (Key archival to a key-recovery certificate is
   not implemented: no template archives keys.)

The delivery password is never stored: it is an HMAC, under ``SECRET_KEY``, of the request's id and a
random salt, so that the CA worker that encrypts and the web tier that delivers compute the same one,
and a copy of the database alone does not open the PKCS#12.
"""

from __future__ import annotations

import base64
import datetime as dt
import logging
import secrets
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cryptography import x509

from django.db import transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac

from ca.choices import PkcsRequestStatus
from ca.crypto.keys import KeyPolicyError, KeySpec
from ca.crypto.names import general_name_to_json, name_to_json
from ca.dispatch import ca_task_send
from ca.exceptions import PolicyViolation
from ca.messages import PkcsCertificateIssueMessage
from ca.models import CertificateAuthority, CertificateTemplate, PkcsRequest
from ca.services.submission import RequestedKeyUsage

__all__ = [
    "PkcsBundle",
    "pkcs_bundle_deliver",
    "pkcs_delivery_password",
    "pkcs_request_dispatch",
    "pkcs_request_redispatch_stale",
    "pkcs_request_submit",
]

logger = logging.getLogger(__name__)

#: The holder links a requester may give (plain values, as the event log keeps them).
_HOLDER_LINKS = ("device_id", "device_external_id", "user_id", "user_principal_name")


@dataclass(frozen=True)
class PkcsBundle:
    """A delivered PKCS#12 and the password that opens it."""

    pkcs12_der: bytes
    password: str
    certificate_id: int


def pkcs_delivery_password(request: PkcsRequest) -> str:
    """The PKCS#12 password of ``request``: 32 URL-safe characters (192 bits), derived, never stored."""
    digest = salted_hmac(
        "certportal.ca.pkcs12-password", f"{request.pk}:{request.password_salt}", algorithm="sha256"
    ).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")[:32]


def pkcs_request_submit(
    *,
    authority: CertificateAuthority,
    template: CertificateTemplate,
    key_spec: str,
    subject: x509.Name,
    sans: Sequence[x509.GeneralName] = (),
    validity_days: int | None = None,
    sid: str = "",
    key_usage: RequestedKeyUsage | None = None,
    extended_key_usages: Sequence[str] | None = None,
    requester: str,
    holder: Mapping[str, Any] | None = None,
) -> PkcsRequest:
    """Record a request for a server-generated key and send it to the CA worker once committed.

    Raises:
        PolicyViolation: the key is not one the CA generates, or smaller than the template allows.
    """
    try:
        spec = KeySpec.parse(key_spec)
    except KeyPolicyError as exc:
        raise PolicyViolation(str(exc), code=exc.code) from exc
    minimum = template.min_rsa_key_size if spec.key_type == "RSA" else template.min_ec_key_size
    if spec.size < minimum:
        raise PolicyViolation(
            f"template {template.name} requires {spec.key_type} keys of at least {minimum} bits",
            code="key_too_small",
        )
    with transaction.atomic():
        request = PkcsRequest(
            authority=authority,
            template=template,
            key_spec=str(spec),
            subject_json=name_to_json(subject),
            sans_json=[general_name_to_json(name) for name in sans],
            subject=subject.rfc4514_string()[:1024],
            validity_days=validity_days,
            sid=sid,
            key_usage=key_usage.as_json() if key_usage is not None else None,
            extended_key_usages=list(extended_key_usages) if extended_key_usages is not None else None,
            requester=requester[:255],
            holder={name: value for name, value in (holder or {}).items() if name in _HOLDER_LINKS},
            task_id=str(uuid.uuid4()),
            password_salt=secrets.token_urlsafe(24),
        )
        request.full_clean()
        request.save()
        transaction.on_commit(lambda: pkcs_request_dispatch(request), robust=True)
    logger.info("PKCS request %s for %s queued", request.pk, request.subject)
    return request


def pkcs_request_dispatch(request: PkcsRequest) -> None:
    """Hand a queued PKCS request to the CA worker; a broker outage leaves it queued (sent again later)."""
    try:
        ca_task_send(PkcsCertificateIssueMessage(request_id=request.pk), task_id=request.task_id or None)
    except Exception:
        logger.exception("could not dispatch PKCS request %s; it stays queued", request.pk)


def pkcs_request_redispatch_stale(*, older_than: dt.timedelta) -> int:
    """Send again the PKCS requests queued for ``older_than`` (a lost task, a broker outage): issuance is
    idempotent per request (a request no longer queued is left as it is).
    """
    cutoff = timezone.now() - older_than
    stale = list(PkcsRequest.objects.filter(status=PkcsRequestStatus.QUEUED, updated_at__lt=cutoff))
    for request in stale:
        PkcsRequest.objects.filter(pk=request.pk).update(updated_at=timezone.now())
        logger.warning("PKCS request %s still queued since %s; sent again", request.pk, request.updated_at)
        pkcs_request_dispatch(request)
    return len(stale)


def pkcs_bundle_deliver(*, request: PkcsRequest) -> PkcsBundle | None:
    """Hand the PKCS#12 of an issued request over, once: the stored copy is deleted as it is handed out
    (the key is kept nowhere after delivery). None when it is not issued, or delivered already.
    """
    with transaction.atomic():
        locked = PkcsRequest.objects.select_for_update().get(pk=request.pk)
        if (
            locked.status != PkcsRequestStatus.ISSUED
            or not locked.pkcs12_der
            or locked.certificate_id is None
        ):
            return None
        bundle = PkcsBundle(
            pkcs12_der=bytes(locked.pkcs12_der),
            password=pkcs_delivery_password(locked),
            certificate_id=locked.certificate_id,
        )
        locked.pkcs12_der = None
        locked.status = PkcsRequestStatus.DELIVERED
        locked.delivered_at = timezone.now()
        locked.save(update_fields=["pkcs12_der", "status", "delivered_at", "updated_at"])
    request.refresh_from_db()
    return bundle
