"""The SCEP services' part of a CA rollover (RFC 8894 §3.5.3, §4.7): the next RA, GetNextCACert, the switch.

For each SCEP service of the CA being rolled, the next RA certificate is issued under the successor CA,
as the RA is issued today (``registration_authority_create``: the key made here, the CSR signed by the CA
worker through the request queue) with the current RA's name, subject and key size; services that share
an RA share its next RA. Setting ``next_registration_authority`` makes GetCACaps advertise GetNextCACert,
which then answers the successor's chain and the next RA, signed by the current RA (``enrollment.views``).

At the switch each service moves to the successor and the next RA, and its next RA is cleared; a
cancellation clears it without moving. The next RAs stay on record either way (``RegistrationAuthority``
rows are never deleted: transactions may name them).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric import rsa

from django.db import transaction

from ca.models import CertificateAuthority
from core.exceptions import ApplicationError
from enrollment.models import RegistrationAuthority, ScepService
from enrollment.services.registration import registration_authority_create

__all__ = [
    "ScepServiceRollover",
    "scep_services_next_clear",
    "scep_services_next_prepare",
    "scep_services_rollover_state",
    "scep_services_switch",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ScepServiceRollover:
    """Where one SCEP service stands in a rollover: its current RA, and its next RA under the successor."""

    slug: str
    registration_authority: RegistrationAuthority
    next_registration_authority: RegistrationAuthority | None
    #: What this call did: "issued" (a new next RA), "kept" (it had one), "" for a read.
    action: str = ""

    @property
    def ready(self) -> bool:
        return self.next_registration_authority is not None


def _services(authority: CertificateAuthority) -> list[ScepService]:
    return list(
        ScepService.objects.filter(authority=authority)
        .select_related("registration_authority", "next_registration_authority")
        .order_by("slug")
    )


def _next_under(service: ScepService, successor: CertificateAuthority) -> RegistrationAuthority | None:
    upcoming = service.next_registration_authority
    return upcoming if upcoming is not None and upcoming.authority_id == successor.pk else None


def scep_services_rollover_state(
    *, authority: CertificateAuthority, successor: CertificateAuthority | None
) -> list[ScepServiceRollover]:
    """The SCEP services of ``authority`` and their next RA under ``successor`` (None if they have none)."""
    return [
        ScepServiceRollover(
            slug=service.slug,
            registration_authority=service.registration_authority,
            next_registration_authority=_next_under(service, successor) if successor is not None else None,
        )
        for service in _services(authority)
    ]


def scep_services_next_prepare(
    *, authority: CertificateAuthority, successor: CertificateAuthority, wait: float = 60.0
) -> list[ScepServiceRollover]:
    """Give every SCEP service of ``authority`` a next RA certified by ``successor``; idempotent.

    A service with a next RA under ``successor`` keeps it; the others get one per current RA (one
    certificate for the services that share an RA). Each RA is saved as it is issued, so that a run
    that fails half way (the CA worker is down) is completed by running it again.

    Raises:
        ApplicationError: the CA did not issue an RA certificate in ``wait`` seconds, or no RA passphrase.
    """
    if not successor.enabled:
        raise ApplicationError(f"the next CA {successor.slug} is disabled", code="successor_disabled")
    issued: dict[int, RegistrationAuthority] = {}
    results: list[ScepServiceRollover] = []
    for service in _services(authority):
        current = service.registration_authority
        upcoming = _next_under(service, successor)
        if upcoming is not None:
            issued.setdefault(current.pk, upcoming)
            results.append(ScepServiceRollover(service.slug, current, upcoming, action="kept"))
            continue
        upcoming = issued.get(current.pk)
        action = "shared"
        if upcoming is None:
            upcoming = _next_registration_authority_create(current=current, successor=successor, wait=wait)
            issued[current.pk] = upcoming
            action = "issued"
        service.next_registration_authority = upcoming
        service.save(update_fields=["next_registration_authority", "updated_at"])
        logger.info("SCEP service %s: next RA %s under %s", service.slug, upcoming, successor.slug)
        results.append(ScepServiceRollover(service.slug, current, upcoming, action=action))
    return results


def _next_registration_authority_create(
    *, current: RegistrationAuthority, successor: CertificateAuthority, wait: float
) -> RegistrationAuthority:
    key = current.certificate.public_key()
    key_size = key.key_size if isinstance(key, rsa.RSAPublicKey) else 2048
    return registration_authority_create(
        authority=successor,
        name=current.name,
        subject=current.certificate.subject,
        key_size=key_size,
        wait=wait,
    )


@transaction.atomic
def scep_services_switch(
    *, authority: CertificateAuthority, successor: CertificateAuthority
) -> list[ScepServiceRollover]:
    """Move every SCEP service of ``authority`` to ``successor`` and its next RA; clear the next RA.

    All or none: a service without a next RA under ``successor`` refuses the whole switch.

    Raises:
        ApplicationError: a service has no next RA certified by ``successor`` (run prepare again).
    """
    moves = [(service, _next_under(service, successor)) for service in _services(authority)]
    missing = [service.slug for service, upcoming in moves if upcoming is None]
    if missing:
        raise ApplicationError(
            f"SCEP service(s) {', '.join(missing)} have no next RA under {successor.slug}: "
            f"run ca_rollover prepare --ca {authority.slug} again",
            code="rollover_services_not_ready",
        )
    results: list[ScepServiceRollover] = []
    for service, upcoming in moves:
        if upcoming is None:  # pragma: no cover - refused above
            continue
        current = service.registration_authority
        service.authority = successor
        service.registration_authority = upcoming
        service.next_registration_authority = None
        service.full_clean()
        service.save(
            update_fields=["authority", "registration_authority", "next_registration_authority", "updated_at"]
        )
        results.append(ScepServiceRollover(service.slug, current, upcoming, action="switched"))
    return results


def scep_services_next_clear(*, successor: CertificateAuthority) -> list[str]:
    """A cancelled rollover: no service advertises an RA of ``successor`` any more (GetNextCACert is a 404,
    GetCACaps no longer lists it). Returns the services' slugs.
    """
    services = list(
        ScepService.objects.filter(next_registration_authority__authority=successor).order_by("slug")
    )
    for service in services:
        service.next_registration_authority = None
        service.save(update_fields=["next_registration_authority", "updated_at"])
    return [service.slug for service in services]
