"""Reads of the SCEP front end: finding the transaction a message belongs to."""

from __future__ import annotations

from django.db.models import QuerySet

from ca.choices import CertificateRequestStatus
from ca.models import IssuedCertificate
from core.prepared_queries import PreparedQuery
from enrollment.choices import TransactionStatus
from enrollment.models import ScepService, ScepTransaction

__all__ = [
    "scep_renewal_origin",
    "scep_renewal_successor",
    "scep_service_lookup",
    "scep_transaction_find",
    "scep_transaction_latest",
    "scep_transaction_pending_approval",
    "scep_transaction_pending_elsewhere",
]

#: How many renewals back ``scep_renewal_origin`` looks (a certificate renewed yearly for a century).
RENEWAL_CHAIN_LIMIT = 100


_SERVICE_LOOKUPS: dict[tuple[bool, tuple[str, ...]], PreparedQuery[ScepService]] = {}


def scep_service_lookup(slug: str | None, related: tuple[str, ...] = ()) -> ScepService | None:
    """The SCEP service at ``slug`` (the default one for None), enabled or not, with ``related`` joined.

    Read on every SCEP request: the query is prepared (compiled once per process, ``core.prepared_queries``);
    the rows and the instances are new each time, so a change to the service applies to the next request.
    """
    key = (slug is not None, related)
    lookup = _SERVICE_LOOKUPS.get(key)
    if lookup is None:
        lookup = _SERVICE_LOOKUPS.setdefault(
            key, _service_lookup_prepare(by_slug=slug is not None, related=related)
        )
    return lookup.first(slug) if slug is not None else lookup.first()


def _service_lookup_prepare(*, by_slug: bool, related: tuple[str, ...]) -> PreparedQuery[ScepService]:
    def build(*slug: str) -> QuerySet[ScepService]:
        queryset = ScepService.objects.filter(**({"slug": slug[0]} if by_slug else {"is_default": True}))
        if related:  # select_related() with no names would follow every relation
            queryset = queryset.select_related(*related)
        return queryset.order_by("pk")[:1]

    return PreparedQuery(build, str) if by_slug else PreparedQuery(build)


_TRANSACTION_FIND: PreparedQuery[ScepTransaction] = PreparedQuery(
    lambda service_id, transaction_id, request_key: (
        _transactions(service_id, transaction_id).filter(request_key=request_key).order_by("pk")[:1]
    ),
    int,
    str,
    str,
)
_TRANSACTION_PENDING_ELSEWHERE: PreparedQuery[ScepTransaction] = PreparedQuery(
    lambda service_id, transaction_id, request_key: (
        ScepTransaction.objects.filter(
            service_id=service_id, transaction_id=transaction_id, status=TransactionStatus.PENDING
        )
        .exclude(request_key=request_key)
        .only("pk")
        .order_by()[:1]
    ),
    int,
    str,
    str,
)


def _transactions(service_id: int, transaction_id: str) -> QuerySet[ScepTransaction]:
    return ScepTransaction.objects.select_related("certificate_request", "certificate").filter(
        service_id=service_id, transaction_id=transaction_id
    )


def scep_transaction_find(
    *, service: ScepService, transaction_id: str, request_key: str
) -> ScepTransaction | None:
    """The transaction of exactly this request (a retransmission has the same request key); prepared, since
    every PKIOperation asks.
    """
    return _TRANSACTION_FIND.first(service.pk, transaction_id, request_key)


def scep_transaction_latest(*, service: ScepService, transaction_id: str) -> ScepTransaction | None:
    """The newest transaction under ``transaction_id`` (what a CertPoll asks about)."""
    return _transactions(service.pk, transaction_id).order_by("-created_at").first()


def scep_transaction_pending_elsewhere(
    *, service: ScepService, transaction_id: str, request_key: str
) -> bool:
    """Whether another request (not this one) is still pending under ``transaction_id`` (prepared)."""
    return _TRANSACTION_PENDING_ELSEWHERE.first(service.pk, transaction_id, request_key) is not None


def scep_renewal_origin(*, certificate: IssuedCertificate) -> ScepTransaction | None:
    """The transaction whose request began the chain of renewals that ended in ``certificate``.

    That is the PKCSReq (with its challenge) of the first certificate; None when ``certificate`` was not
    issued through SCEP (the API, an RA certificate), or the chain is longer than ``RENEWAL_CHAIN_LIMIT``.
    """
    current: int | None = certificate.pk
    seen: set[int] = set()
    while current is not None and current not in seen and len(seen) < RENEWAL_CHAIN_LIMIT:
        seen.add(current)
        issued_by = (
            # By its request: a transaction knows its certificate only once it answered with it.
            ScepTransaction.objects.filter(certificate_request__certificate=current)
            .only("pk", "challenge_id", "renewed_certificate_id", "authorization")
            .order_by("created_at")
            .first()
        )
        if issued_by is None:
            return None
        if issued_by.renewed_certificate_id is None:
            return issued_by
        current = issued_by.renewed_certificate_id
    return None


def scep_renewal_successor(*, certificate: IssuedCertificate) -> IssuedCertificate | None:
    """The certificate that a RenewalReq signed by ``certificate`` was issued (the first), or None.

    A renewed certificate is superseded: renewing it again would give its key a second live certificate.
    """
    renewal = (
        ScepTransaction.objects.filter(
            renewed_certificate=certificate, certificate_request__certificate__isnull=False
        )
        .select_related("certificate_request__certificate")
        .order_by("created_at")
        .first()
    )
    if renewal is None or renewal.certificate_request is None:
        return None
    successor: IssuedCertificate = renewal.certificate_request.certificate
    return successor


def scep_transaction_pending_approval(*, service: ScepService) -> QuerySet[ScepTransaction]:
    """The transactions of ``service`` whose request waits for a CA certificate manager's approval."""
    return ScepTransaction.objects.filter(
        service=service,
        status=TransactionStatus.PENDING,
        certificate_request__status=CertificateRequestStatus.PENDING_APPROVAL,
    )
