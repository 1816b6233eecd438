"""The RA side of the CA's request queue: policy checks, certificate requests, approval, waiting.

None of this touches a CA private key, and none of it imports the CA worker's side: a request that
passes policy is stored and, once the transaction commits, sent by task name (``ca.dispatch``) to the
``ca`` queue; the answer is read back from the database (or the task's result).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from django.db import transaction
from django.utils import timezone

from ca.choices import CertificateRequestStatus
from ca.conf import ca_settings
from ca.crypto.csr import CsrError, csr_signature_hash, load_csr
from ca.crypto.identities import sid_is_valid
from ca.crypto.keys import KeyPolicyError, check_request_key, spki_sha256
from ca.crypto.names import general_name_to_json, name_to_json
from ca.dispatch import ca_task_result, ca_task_results_available, ca_task_send
from ca.exceptions import (
    AuthorityUnavailable,
    PolicyViolation,
    RequestNotPending,
)
from ca.messages import CertificateIssueMessage
from ca.models import CertificateAuthority, CertificateRequest, CertificateTemplate

__all__ = [
    "RequestedKeyUsage",
    "certificate_request_approve",
    "certificate_request_check",
    "certificate_request_deny",
    "certificate_request_dispatch",
    "certificate_request_redispatch_if_stale",
    "certificate_request_redispatch_stale",
    "certificate_request_submit",
    "certificate_request_wait",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RequestedKeyUsage:
    """The key usage a requester asks for (a SCEP profile's); the certificate gets its intersection."""

    digital_signature: bool
    key_encipherment: bool

    def as_json(self) -> dict[str, bool]:
        return {"digital_signature": self.digital_signature, "key_encipherment": self.key_encipherment}

    def __str__(self) -> str:
        names = [
            n
            for n, on in (
                ("digital signature", self.digital_signature),
                ("key encipherment", self.key_encipherment),
            )
            if on
        ]
        return ", ".join(names) or "none"


def certificate_request_check(
    *,
    authority: CertificateAuthority,
    template: CertificateTemplate,
    csr: x509.CertificateSigningRequest,
    subject: x509.Name,
    sans: Sequence[x509.GeneralName],
    validity_days: int | None = None,
    sid: str = "",
    key_usage: RequestedKeyUsage | None = None,
    extended_key_usages: Sequence[str] | None = None,
) -> None:
    """Raise PolicyViolation / AuthorityUnavailable unless the CA may issue this under ``template``."""
    if not authority.enabled:
        raise AuthorityUnavailable(f"CA {authority} is disabled", code="authority_disabled")
    if authority.not_after <= timezone.now():
        raise AuthorityUnavailable(f"CA {authority} has expired", code="authority_expired")
    if not template.enabled:
        raise PolicyViolation(f"certificate template {template.name} is disabled", code="template_disabled")
    if not authority.published_templates.filter(pk=template.pk).exists():
        raise PolicyViolation(
            f"CA {authority} does not issue certificate template {template.name}",
            code="template_not_published",
        )
    try:
        check_request_key(
            csr.public_key(), min_rsa_bits=template.min_rsa_key_size, min_ec_bits=template.min_ec_key_size
        )
        signature_hash = csr_signature_hash(csr)
    except (KeyPolicyError, CsrError) as exc:
        raise PolicyViolation(str(exc), code=exc.code) from exc
    if signature_hash and signature_hash not in template.allowed_signature_hashes:
        raise PolicyViolation(
            f"the request is signed with {signature_hash}; template {template.name} allows "
            f"{', '.join(template.allowed_signature_hashes)}",
            code="signature_hash_not_allowed",
        )
    if not subject.rdns and not sans:
        raise PolicyViolation(
            "a certificate needs a subject or a subject alternative name", code="name_missing"
        )
    if validity_days is not None:
        if not template.allow_requester_validity:
            raise PolicyViolation(
                f"certificate template {template.name} does not let the requester choose the validity",
                code="validity_not_allowed",
            )
        if not 1 <= validity_days <= template.validity_days:
            raise PolicyViolation(
                f"requested validity of {validity_days} days is outside 1..{template.validity_days} "
                f"(the template's validity period)",
                code="validity_too_long",
            )
    if sid and not sid_is_valid(sid):
        raise PolicyViolation(f"{sid!r} is not a Windows SID", code="sid_invalid")
    if key_usage is not None:
        granted = (key_usage.digital_signature and template.digital_signature) or (
            key_usage.key_encipherment and template.key_encipherment
        )
        if not granted:
            raise PolicyViolation(
                f"the requested key usage ({key_usage}) has nothing in common with certificate template "
                f"{template.name}'s",
                code="key_usage_not_allowed",
            )
    if extended_key_usages is not None:
        outside = [oid for oid in extended_key_usages if oid not in template.application_policies]
        if outside:
            raise PolicyViolation(
                f"certificate template {template.name} does not allow the extended key usages "
                f"{', '.join(outside)}",
                code="extended_key_usage_not_allowed",
            )


def certificate_request_submit(
    *,
    authority: CertificateAuthority,
    template: CertificateTemplate,
    csr: x509.CertificateSigningRequest | bytes,
    subject: x509.Name,
    sans: Sequence[x509.GeneralName] = (),
    validity_days: int | None = None,
    sid: str = "",
    requester: str,
    csr_der: bytes | None = None,
    key_usage: RequestedKeyUsage | None = None,
    extended_key_usages: Sequence[str] | None = None,
) -> CertificateRequest:
    """Check policy, record the request, and queue it for the CA worker once committed.

    ``subject`` and ``sans`` are what policy chose (a rendered profile, or the CSR's own subject where
    the template lets the request supply it); the CSR contributes only its public key. A caller that
    parsed the CSR already passes it with its DER (``csr_der``), so it is neither parsed nor encoded again.
    """
    if isinstance(csr, bytes):
        try:
            csr, csr_der = load_csr(csr), None  # PEM or DER: encoded below
        except CsrError as exc:
            raise PolicyViolation(str(exc), code=exc.code) from exc
    elif not csr.is_signature_valid:
        raise PolicyViolation("the CSR's signature does not verify", code="csr_signature_invalid")
    certificate_request_check(
        authority=authority,
        template=template,
        csr=csr,
        subject=subject,
        sans=sans,
        validity_days=validity_days,
        sid=sid,
        key_usage=key_usage,
        extended_key_usages=extended_key_usages,
    )
    status = (
        CertificateRequestStatus.PENDING_APPROVAL
        if template.requires_approval
        else CertificateRequestStatus.QUEUED
    )
    # No savepoint inside a caller's transaction (the SCEP front end's): nothing here is caught and retried.
    with transaction.atomic(savepoint=False):
        request = CertificateRequest(
            authority=authority,
            template=template,
            csr_der=csr_der if csr_der is not None else csr.public_bytes(Encoding.DER),
            public_key_sha256=spki_sha256(csr.public_key()),
            subject_json=name_to_json(subject),
            sans_json=[general_name_to_json(name) for name in sans],
            subject=subject.rfc4514_string(),
            validity_days=validity_days,
            sid=sid,
            key_usage=key_usage.as_json() if key_usage is not None else None,
            extended_key_usages=list(extended_key_usages) if extended_key_usages is not None else None,
            requester=requester[:255],
            status=status,
            task_id=str(uuid.uuid4()) if status == CertificateRequestStatus.QUEUED else "",
        )
        # The CA and the template are rows the caller read (and the foreign keys hold): not read again.
        request.full_clean(exclude=["authority", "template"])
        request.save()
        if status == CertificateRequestStatus.QUEUED:
            _dispatch_on_commit(request)
    logger.info("certificate request %s for %s: %s", request.pk, request.subject, request.status)
    return request


@transaction.atomic
def certificate_request_approve(*, request: CertificateRequest, actor: str) -> CertificateRequest:
    """CA certificate manager approval: queue a pending request for issuance."""
    request = CertificateRequest.objects.select_for_update().get(pk=request.pk)
    if request.status != CertificateRequestStatus.PENDING_APPROVAL:
        raise RequestNotPending(
            f"request {request.pk} is {request.get_status_display().lower()}, not pending approval"
        )
    request.status = CertificateRequestStatus.QUEUED
    request.decided_by = actor[:255]
    request.decided_at = timezone.now()
    request.task_id = str(uuid.uuid4())
    request.save(update_fields=["status", "decided_by", "decided_at", "task_id", "updated_at"])
    _dispatch_on_commit(request)
    return request


@transaction.atomic
def certificate_request_deny(
    *, request: CertificateRequest, actor: str, reason: str = ""
) -> CertificateRequest:
    request = CertificateRequest.objects.select_for_update().get(pk=request.pk)
    if request.status != CertificateRequestStatus.PENDING_APPROVAL:
        raise RequestNotPending(
            f"request {request.pk} is {request.get_status_display().lower()}, not pending approval"
        )
    request.status = CertificateRequestStatus.DENIED
    request.failure_reason = reason or "denied by a CA certificate manager"
    request.decided_by = actor[:255]
    request.decided_at = timezone.now()
    request.save(update_fields=["status", "failure_reason", "decided_by", "decided_at", "updated_at"])
    return request


def certificate_request_dispatch(request: CertificateRequest) -> None:
    """Hand a queued request to the CA worker (or, in the embedded default, issue it now).

    Failing to reach the broker leaves the request queued; the beat sweep dispatches it again.
    """
    try:
        ca_task_send(CertificateIssueMessage(request_id=request.pk), task_id=request.task_id or None)
    except Exception:
        logger.exception("could not dispatch certificate request %s; it stays queued", request.pk)


def certificate_request_redispatch_stale(*, older_than: dt.timedelta) -> int:
    """Hand queued requests that nobody has answered for ``older_than`` to the CA worker again.

    Covers a broker that was down at submission or a task message lost with a worker: issuance is
    idempotent per request, so a request that was in fact being handled is not issued twice.
    """
    cutoff = timezone.now() - older_than
    stale = list(
        CertificateRequest.objects.filter(status=CertificateRequestStatus.QUEUED, updated_at__lt=cutoff)
    )
    return sum(
        certificate_request_redispatch_if_stale(request=request, older_than=older_than) for request in stale
    )


def certificate_request_redispatch_if_stale(
    *, request: CertificateRequest, older_than: dt.timedelta | None = None
) -> bool:
    """Hand ``request`` to the CA worker again if it is still queued and nobody has answered it for
    ``older_than`` (``CERTPORTAL_REQUEST_REDISPATCH_AFTER``); whether it was sent.

    The beat sweep calls this for every stale request, and so does a device's poll for its own
    (``certificate_request_wait``): a task lost with a killed worker, to a Redis restart or a broker outage
    at submission is sent again even while beat is down. The claim is a conditional update of
    ``updated_at``, so that of several pollers and the sweep, one sends it per interval.
    """
    after = (
        older_than if older_than is not None else dt.timedelta(seconds=ca_settings().REQUEST_REDISPATCH_AFTER)
    )
    seen = request.updated_at
    claimed = CertificateRequest.objects.filter(
        pk=request.pk, status=CertificateRequestStatus.QUEUED, updated_at__lt=timezone.now() - after
    ).update(updated_at=timezone.now())
    if not claimed:
        return False
    logger.warning("certificate request %s still queued since %s; dispatching again", request.pk, seen)
    certificate_request_dispatch(request)
    return True


def _dispatch_on_commit(request: CertificateRequest) -> None:
    transaction.on_commit(lambda: certificate_request_dispatch(request), robust=True)


def certificate_request_wait(*, request: CertificateRequest, timeout: float) -> CertificateRequest:
    """Wait up to ``timeout`` seconds for the CA worker to finish ``request``; return it refreshed. A
    request queued for longer than ``CERTPORTAL_REQUEST_REDISPATCH_AFTER`` is sent again first.

    Uses the task result when a result backend exists (a push, no polling), and the database
    otherwise; either way the database row is the answer.
    """
    request.refresh_from_db()
    if request.status != CertificateRequestStatus.QUEUED:
        return request
    certificate_request_redispatch_if_stale(request=request)
    if timeout <= 0:
        return request
    deadline = time.monotonic() + timeout
    if ca_task_results_available() and request.task_id:
        try:
            ca_task_result(request.task_id).get(timeout=timeout, propagate=False)
        except Exception:
            logger.debug("task result for request %s not available; polling", request.pk)
        request.refresh_from_db()
    delay = 0.01
    while request.status == CertificateRequestStatus.QUEUED and time.monotonic() < deadline:
        time.sleep(min(delay, max(deadline - time.monotonic(), 0)))
        delay = min(delay * 2, 0.25)
        request.refresh_from_db()
    return request
