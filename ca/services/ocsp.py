"""The OCSP responder (RFC 6960), on the RA side: delegated responder certificates, and the answers.

Each CA's responses are signed by a delegated responder: a key generated here, on the RA side, encrypted
with ``CERTPORTAL_OCSP_KEY_PASSPHRASE``, whose CSR the CA worker signs through the ordinary request
queue under the ``OCSPResponderSigning`` template (id-kp-OCSPSigning, id-pkix-ocsp-nocheck, a few days'
validity). Answering never touches a CA key: it reads the certificate rows live (so OCSP flips when a
revocation commits, as the CRL does) and signs with the responder key. Nothing here imports the CA
worker's modules.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509 import ocsp
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from django.core.signals import setting_changed
from django.db.models import QuerySet
from django.dispatch import receiver
from django.utils import timezone

from ca.choices import CertificateRequestStatus, RevocationReason, TemplatePurpose
from ca.conf import ca_settings
from ca.crypto.ocsp import (
    CertificateStatus,
    OcspQuery,
    OcspRequestError,
    ResponderKey,
    build_error_response,
    build_responder_csr,
    build_response,
    generate_responder_key,
    issuer_hashes,
    load_responder_key,
    parse_request,
    responder_key_encrypt,
)
from ca.models import CertificateAuthority, CertificateTemplate, IssuedCertificate, OcspResponder
from ca.selectors import certificate_revocation_state_get, ocsp_responder_get_current
from ca.services.submission import certificate_request_submit, certificate_request_wait
from core import metrics
from core.exceptions import ApplicationError

__all__ = [
    "OCSP_TEMPLATE_NAME",
    "OcspAnswer",
    "OcspRefreshResult",
    "OcspResponderUnavailable",
    "ocsp_error_answer",
    "ocsp_request_answer",
    "ocsp_responder_create",
    "ocsp_responder_refresh",
    "ocsp_responder_template",
]

logger = logging.getLogger(__name__)

OCSP_TEMPLATE_NAME = "OCSPResponderSigning"


class OcspResponderUnavailable(ApplicationError):
    """No responder can be made or used: no OCSP key passphrase, or the CA did not issue its certificate."""

    code = "ocsp_responder_unavailable"
    http_status = 503


# --- responder certificates ----------------------------------------------------------------------------


def ocsp_responder_template() -> CertificateTemplate:
    """The responder certificates' template (created when missing): digital signature only,
    id-kp-OCSPSigning, id-pkix-ocsp-nocheck, ``CERTPORTAL_OCSP_RESPONDER_VALIDITY_DAYS`` days (kept in step
    with the setting).
    """
    days = ca_settings().OCSP_RESPONDER_VALIDITY_DAYS
    template, created = CertificateTemplate.objects.get_or_create(
        name=OCSP_TEMPLATE_NAME,
        defaults={
            "display_name": "OCSP responder signing (delegated responders of our CAs)",
            "purpose": TemplatePurpose.SIGNATURE,
            "validity_days": days,
            "digital_signature": True,
            "key_encipherment": False,
            "ocsp_no_check": True,
            "application_policies": [ExtendedKeyUsageOID.OCSP_SIGNING.dotted_string],
        },
    )
    if not created and template.validity_days != days:
        template.validity_days = days
        template.save(update_fields=["validity_days", "updated_at"])
    return template


def ocsp_responder_create(*, authority: CertificateAuthority, wait: float = 60.0) -> OcspResponder:
    """Generate a responder key of the CA's type, have ``authority`` certify it, keep the key encrypted.

    The new responder signs from now on; the one it replaces stays valid until it expires.
    """
    passphrase = _passphrase()  # fails before anything is issued when this process has none
    template = ocsp_responder_template()
    authority.published_templates.add(template)
    key = generate_responder_key(authority.key_type)
    encrypted = responder_key_encrypt(key, passphrase)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{authority.name} OCSP Responder"[:64])])
    request = certificate_request_submit(
        authority=authority,
        template=template,
        csr=build_responder_csr(key=key, subject=subject),
        subject=subject,
        requester=f"ocsp:{authority.slug}",
    )
    request = certificate_request_wait(request=request, timeout=wait)
    if request.status != CertificateRequestStatus.ISSUED:
        raise OcspResponderUnavailable(
            f"the CA did not issue the OCSP responder certificate of {authority} (request {request.pk} is "
            f"{request.status}{': ' + request.failure_reason if request.failure_reason else ''}); "
            "is the CA worker running?",
            code="ocsp_responder_not_issued",
        )
    issued = IssuedCertificate.objects.get(request=request)
    responder = OcspResponder(
        authority=authority,
        certificate=issued,
        encrypted_key_pem=encrypted,
        not_before=issued.not_before,
        not_after=issued.not_after,
    )
    responder.full_clean()
    responder.save()
    logger.info(
        "created OCSP responder %s for CA %s (certificate %s, until %s)",
        responder.pk,
        authority,
        issued.serial,
        issued.not_after,
    )
    return responder


@dataclass(frozen=True)
class OcspRefreshResult:
    created: list[OcspResponder]
    #: CA slug -> why its responder could not be made (logged too).
    failed: dict[str, str]


def ocsp_responder_refresh(
    *, authorities: QuerySet[CertificateAuthority] | None = None, wait: float = 60.0
) -> OcspRefreshResult:
    """Beat: a responder for every enabled, unexpired CA (of ``authorities``, default all) that has none,
    and a new one where the current responder has less than half its lifetime left. A CA that fails is
    logged and the others go on; run again, it tries again.
    """
    now = timezone.now()
    candidates = CertificateAuthority.objects.all() if authorities is None else authorities
    created, failed = [], {}
    for authority in candidates.filter(enabled=True, not_after__gt=now).order_by("pk"):
        current = ocsp_responder_get_current(authority=authority, now=now)
        if current is not None and not current.needs_renewal(now):
            continue
        try:
            created.append(ocsp_responder_create(authority=authority, wait=wait))
        except ApplicationError as exc:
            logger.exception("could not create an OCSP responder for CA %s", authority)
            failed[authority.slug] = exc.message
    return OcspRefreshResult(created=created, failed=failed)


# --- answering -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OcspAnswer:
    """A DER OCSPResponse; ``this_update``/``next_update`` only for a successful one (HTTP caching)."""

    der: bytes
    status: ocsp.OCSPResponseStatus
    this_update: dt.datetime | None = None
    next_update: dt.datetime | None = None
    #: good, revoked or unknown, for a successful one (the metrics count it).
    certificate_status: str = ""

    @property
    def successful(self) -> bool:
        return self.status == ocsp.OCSPResponseStatus.SUCCESSFUL


def ocsp_error_answer(status: ocsp.OCSPResponseStatus) -> OcspAnswer:
    return OcspAnswer(der=build_error_response(status).public_bytes(Encoding.DER), status=status)


def ocsp_request_answer(*, slug: str, request_der: bytes) -> OcspAnswer:
    """Answer a DER OCSPRequest sent to the responder of the CA ``slug`` (see ``_answer``), counted in
    ``certportal_ocsp_responses`` by its certificate status or, when unsuccessful, its responseStatus.
    """
    answer = _answer(slug=slug, request_der=request_der)
    metrics.ocsp_response_counted(
        authority=slug if answer.successful else "",
        status=answer.certificate_status or answer.status.name.lower(),
    )
    return answer


def _answer(*, slug: str, request_der: bytes) -> OcspAnswer:
    """Answer a DER OCSPRequest sent to the responder of the CA ``slug``.

    good / revoked (time and reason) / unknown (a serial this CA did not issue); ``malformedRequest`` for
    what cannot be read, ``unauthorized`` for a CertID that names another issuer (or an unknown CA):
    our delegated responder speaks only for its own CA. ``tryLater`` while the CA has no valid responder.
    """
    try:
        query = parse_request(request_der)
    except OcspRequestError as exc:
        logger.info("OCSP request to %s answered %s: %s", slug, exc.status.name, exc)
        return ocsp_error_answer(exc.status)
    # The certificate PEM is read only when this process has not hashed this CA yet (_names_issuer).
    fields = ("pk", "name", "slug", "fingerprint_sha256")
    authority = CertificateAuthority.objects.only(*fields).filter(slug=slug).first()
    if authority is None or not _names_issuer(authority, query):
        logger.info("OCSP request to %s: no such CA, or a CertID of another issuer: unauthorized", slug)
        return ocsp_error_answer(ocsp.OCSPResponseStatus.UNAUTHORIZED)
    now = timezone.now()
    responder = ocsp_responder_get_current(authority=authority, now=now)
    if responder is None:
        logger.warning("CA %s has no valid OCSP responder (beat creates one): tryLater", authority)
        return ocsp_error_answer(ocsp.OCSPResponseStatus.TRY_LATER)
    certificate, key = _signer(responder)
    this_update = now.replace(microsecond=0)
    next_update = min(
        this_update + dt.timedelta(seconds=ca_settings().OCSP_RESPONSE_VALIDITY), responder.not_after
    )
    status = _status(authority, query.serial)
    response = build_response(
        query=query,
        status=status,
        responder_certificate=certificate,
        responder_key=key,
        this_update=this_update,
        next_update=next_update,
    )
    return OcspAnswer(
        der=response.public_bytes(Encoding.DER),
        status=ocsp.OCSPResponseStatus.SUCCESSFUL,
        this_update=this_update,
        next_update=next_update,
        certificate_status=status.status.name.lower(),
    )


def _status(authority: CertificateAuthority, serial: int) -> CertificateStatus:
    state = certificate_revocation_state_get(authority=authority, serial=serial)
    if state is None:
        return CertificateStatus.unknown()
    if state.revoked_at is None:
        return CertificateStatus.good()
    return CertificateStatus.revoked(
        revoked_at=state.revoked_at, reason=RevocationReason(state.revocation_reason).reason_flag
    )


# Per-process caches: the CA's CertID hashes per hash algorithm, and each CA's current responder
# decrypted once (decrypting a PKCS#8 key costs milliseconds; answering must not).
_issuer_hash_cache: dict[tuple[str, str], tuple[bytes, bytes]] = {}
_signer_cache: dict[int, tuple[int, x509.Certificate, ResponderKey]] = {}
_lock = threading.Lock()


def _names_issuer(authority: CertificateAuthority, query: OcspQuery) -> bool:
    cache_key = (authority.fingerprint_sha256, query.hash_algorithm.name)
    with _lock:
        expected = _issuer_hash_cache.get(cache_key)
    if expected is None:
        expected = issuer_hashes(authority.certificate, query.hash_algorithm)
        with _lock:
            _issuer_hash_cache[cache_key] = expected
    return expected == (query.issuer_name_hash, query.issuer_key_hash)


def _signer(responder: OcspResponder) -> tuple[x509.Certificate, ResponderKey]:
    with _lock:
        cached = _signer_cache.get(responder.authority_id)
    if cached is not None and cached[0] == responder.pk:
        return cached[1], cached[2]
    try:
        key = load_responder_key(responder.encrypted_key_pem, _passphrase())
    except ValueError as exc:
        raise OcspResponderUnavailable(
            "the OCSP responder key cannot be decrypted: wrong CERTPORTAL_OCSP_KEY_PASSPHRASE?"
        ) from exc
    certificate = responder.certificate.certificate
    if certificate.public_key() != key.public_key():
        raise OcspResponderUnavailable(f"OCSP responder {responder.pk}: key and certificate do not match")
    with _lock:
        _signer_cache[responder.authority_id] = (responder.pk, certificate, key)
    return certificate, key


def _passphrase() -> bytes:
    value = ca_settings().OCSP_KEY_PASSPHRASE.get_secret_value()
    if not value:
        raise OcspResponderUnavailable(
            "this process has no OCSP responder key passphrase (CERTPORTAL_OCSP_KEY_PASSPHRASE)",
            code="ocsp_key_passphrase_missing",
        )
    return value.encode("utf-8")


@receiver(setting_changed)
def _reset(*, setting: str, **kwargs: object) -> None:
    if setting == "CERTPORTAL_OCSP_KEY_PASSPHRASE":
        with _lock:
            _signer_cache.clear()
