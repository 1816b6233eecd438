"""A CA rollover, the steps of every app put together (``manage.py ca_rollover``, the beat switch).

The project is the one place that knows all three apps, so the composition is here (the apps' direction,
``enrollment -> profiles -> ca``, stays as it is):

- prepare: the CA worker creates the successor (``ca.services.rollover``, by task name), then every SCEP
  service of the CA gets its next RA under the successor (``enrollment.services.rollover``: GetCACaps
  lists GetNextCACert, which answers the successor and the next RA), and every trusted certificate
  profile that publishes the CA gets a sibling with the successor (``profiles.services.rollover``).
  Running it again completes what a failed run left (the CA worker was down, the RA was not issued).
- switch: in one database transaction, the successor takes over the templates (the old CA issues
  nothing new and keeps publishing its CRL and OCSP answers), the SCEP services move to it and their next
  RA, the SCEP profiles follow with a new version. At once, or at a time that the beat job
  (``portal.jobs``) keeps.
- cancel (before the switch): the next RAs are no longer advertised, the successor's trusted certificate
  profiles are deleted, the successor is disabled.

None of this holds a CA key: it runs where the RA passphrase is (the web tier, the default worker).
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from ca.choices import RolloverStatus
from ca.crypto.keys import KeySpec
from ca.models import AuthorityRollover, CertificateAuthority
from ca.services.rollover import (
    RolloverNotReady,
    authority_rollover_cancel,
    authority_rollover_dispatch,
    authority_rollover_open,
    authority_rollover_request,
    authority_rollover_schedule,
    authority_rollover_switch,
    authority_rollover_wait,
)
from core.exceptions import ApplicationError
from enrollment.services.rollover import (
    ScepServiceRollover,
    scep_services_next_clear,
    scep_services_next_prepare,
    scep_services_rollover_state,
    scep_services_switch,
)
from profiles.models import ScepProfile, TrustedRootProfile
from profiles.services.rollover import (
    ScepProfileSwitch,
    TrustedRootPublication,
    scep_profiles_following,
    scep_profiles_switch,
    trusted_roots_next_publish,
    trusted_roots_next_unpublish,
    trusted_roots_publishing,
)

__all__ = [
    "CancelReport",
    "PrepareReport",
    "RolloverState",
    "SwitchReport",
    "ca_rollover_cancel",
    "ca_rollover_latest",
    "ca_rollover_prepare",
    "ca_rollover_schedule",
    "ca_rollover_state",
    "ca_rollover_switch",
    "ca_rollover_switch_due",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PrepareReport:
    rollover: AuthorityRollover
    #: True when this run asked the CA worker for the successor (False: it existed, or was asked before).
    requested: bool
    services: list[ScepServiceRollover]
    trusted_roots: list[TrustedRootPublication]


@dataclass(frozen=True)
class SwitchReport:
    rollover: AuthorityRollover
    templates: list[str]
    services: list[ScepServiceRollover]
    scep_profiles: list[ScepProfileSwitch]


@dataclass(frozen=True)
class CancelReport:
    rollover: AuthorityRollover
    services: list[str]
    trusted_roots: list[str]


@dataclass(frozen=True)
class RolloverState:
    """What ``ca_rollover status`` shows: the rollover, the services, the profiles, and what is missing."""

    rollover: AuthorityRollover
    services: list[ScepServiceRollover]
    trusted_roots: list[TrustedRootProfile]
    next_trusted_roots: list[TrustedRootProfile]
    scep_profiles: list[ScepProfile]
    problems: list[str] = field(default_factory=list)

    @property
    def ready(self) -> bool:
        return self.rollover.status == RolloverStatus.PREPARED and not self.problems


def ca_rollover_latest(*, authority: CertificateAuthority) -> AuthorityRollover | None:
    """The rollover under way, else the last one (switched, cancelled, failed), else None."""
    return authority_rollover_open(authority=authority) or (
        AuthorityRollover.objects.select_related("authority", "successor", "parent")
        .filter(authority=authority)
        .order_by("-created_at", "-pk")
        .first()
    )


def _same_request(
    rollover: AuthorityRollover,
    *,
    key_spec: KeySpec | None,
    validity_days: int | None,
    parent: CertificateAuthority | None,
) -> list[str]:
    differences = []
    if key_spec is not None and str(key_spec) != rollover.key_spec:
        differences.append(f"key {rollover.key_spec}, not {key_spec}")
    if validity_days is not None and validity_days != rollover.validity_days:
        differences.append(f"{rollover.validity_days} days, not {validity_days}")
    if parent is not None and parent.pk != rollover.parent_id:
        differences.append(
            f"parent {rollover.parent.slug if rollover.parent else '(itself)'}, not {parent.slug}"
        )
    return differences


def ca_rollover_prepare(
    *,
    authority: CertificateAuthority,
    requested_by: str,
    key_spec: KeySpec | None = None,
    validity_days: int | None = None,
    parent: CertificateAuthority | None = None,
    wait: float = 120.0,
) -> PrepareReport:
    """Ask for the successor (or take the one under way), wait for the CA worker, issue the next RAs and
    publish the successor where the CA is published.

    Raises:
        ApplicationError: refused by the CA's rules (nothing written), the options differ from the
            rollover under way, the CA worker failed or did not answer in ``wait`` seconds (the request
            stays: run prepare again), or an RA certificate was not issued (the same).
    """
    rollover = authority_rollover_open(authority=authority)
    requested = rollover is None
    if rollover is None:
        rollover = authority_rollover_request(
            authority=authority,
            requested_by=requested_by,
            key_spec=key_spec,
            validity_days=validity_days,
            parent=parent,
        )
    else:
        differences = _same_request(rollover, key_spec=key_spec, validity_days=validity_days, parent=parent)
        if differences:
            raise ApplicationError(
                f"CA {authority.slug} has a rollover under way already ({'; '.join(differences)}): "
                f"run prepare without those options to complete it, or ca_rollover cancel --ca "
                f"{authority.slug} first",
                code="rollover_under_way",
            )
        if rollover.status == RolloverStatus.REQUESTED:
            authority_rollover_dispatch(rollover)  # the CA worker may have missed it: idempotent there
    rollover = authority_rollover_wait(rollover=rollover, timeout=wait)
    if rollover.status == RolloverStatus.FAILED:
        raise ApplicationError(
            f"the CA worker could not create the next CA of {authority.slug}: {rollover.failure_reason}",
            code="rollover_failed",
        )
    if rollover.status == RolloverStatus.REQUESTED:
        raise ApplicationError(
            f"the CA worker has not created the next CA of {authority.slug} within {wait:g} s; is it "
            f"running (celery -A portal worker -Q ca)? Run ca_rollover prepare --ca {authority.slug} "
            "again to wait for it",
            code="rollover_pending",
        )
    successor = rollover.successor
    if (
        rollover.status != RolloverStatus.PREPARED or successor is None
    ):  # pragma: no cover - cancelled meanwhile
        raise RolloverNotReady(f"the rollover of {authority.slug} is {rollover.status}")
    services = scep_services_next_prepare(authority=authority, successor=successor, wait=min(wait, 60.0))
    roots = trusted_roots_next_publish(authority=authority, successor=successor)
    return PrepareReport(rollover=rollover, requested=requested, services=services, trusted_roots=roots)


def ca_rollover_state(*, rollover: AuthorityRollover) -> RolloverState:
    authority, successor = rollover.authority, rollover.successor
    services = scep_services_rollover_state(authority=authority, successor=successor)
    problems = [
        f"SCEP service {service.slug} has no next RA under the next CA"
        for service in services
        if not service.ready
    ]
    next_roots: list[TrustedRootProfile] = []
    if successor is not None:
        next_roots = list(trusted_roots_publishing(authority=successor))
        if successor.root().pk != authority.root().pk:
            root = successor.root()
            published = set(
                TrustedRootProfile.objects.filter(thumbprint_sha1=root.fingerprint_sha1).values_list(
                    "platform", flat=True
                )
            )
            problems.extend(
                f"SCEP profile {profile.name!r} needs a trusted certificate profile of {root.slug} for "
                f"{profile.get_platform_display()}"
                for profile in scep_profiles_following(authority=authority)
                if profile.platform not in published
            )
    elif rollover.status in RolloverStatus.open():
        problems.append("the CA worker has not created the next CA yet")
    return RolloverState(
        rollover=rollover,
        services=services,
        trusted_roots=list(trusted_roots_publishing(authority=authority)),
        next_trusted_roots=next_roots,
        scep_profiles=list(scep_profiles_following(authority=authority)),
        problems=problems,
    )


def _open_or_refuse(authority: CertificateAuthority, what: str) -> AuthorityRollover:
    rollover = authority_rollover_open(authority=authority)
    if rollover is not None:
        return rollover
    latest = ca_rollover_latest(authority=authority)
    since = ""
    if latest is not None:
        when = latest.switched_at or latest.cancelled_at or latest.updated_at
        since = (
            f" (the last one, to {latest.successor_slug}, is {latest.status} since {when:%Y-%m-%d %H:%M} UTC)"
        )
    raise RolloverNotReady(f"CA {authority.slug} has no rollover under way to {what}{since}")


def _ready_or_refuse(authority: CertificateAuthority, what: str) -> AuthorityRollover:
    rollover = _open_or_refuse(authority, what)
    if rollover.status != RolloverStatus.PREPARED:
        raise RolloverNotReady(
            f"the rollover of {authority.slug} is {rollover.status}, not prepared: run ca_rollover prepare "
            f"--ca {authority.slug} first"
        )
    problems = ca_rollover_state(rollover=rollover).problems
    if problems:
        raise RolloverNotReady(
            f"the rollover of {authority.slug} is not ready to {what}: {'; '.join(problems)} "
            f"(ca_rollover prepare --ca {authority.slug} completes it)"
        )
    return rollover


def ca_rollover_schedule(*, authority: CertificateAuthority, switch_at: dt.datetime) -> AuthorityRollover:
    """Let beat switch the prepared rollover of ``authority`` at ``switch_at`` (in the future)."""
    rollover = _ready_or_refuse(authority, "schedule")
    return authority_rollover_schedule(rollover=rollover, switch_at=switch_at)


@transaction.atomic
def _switch(rollover: AuthorityRollover, now: dt.datetime) -> SwitchReport:
    templates = authority_rollover_switch(rollover=rollover, now=now)  # locks it: one switch only
    successor = rollover.successor
    if successor is None:  # pragma: no cover - a switched rollover has its successor
        raise RolloverNotReady("the rollover has no next CA")
    services = scep_services_switch(authority=rollover.authority, successor=successor)
    profiles = scep_profiles_switch(authority=rollover.authority, successor=successor)
    logger.info(
        "CA rollover %s: %s -> %s switched (%d service(s), %d SCEP profile(s))",
        rollover.pk,
        rollover.authority.slug,
        successor.slug,
        len(services),
        len(profiles),
    )
    return SwitchReport(rollover=rollover, templates=templates, services=services, scep_profiles=profiles)


def ca_rollover_switch(*, authority: CertificateAuthority, now: dt.datetime | None = None) -> SwitchReport:
    """Switch the prepared rollover of ``authority`` now: all of it, or nothing (one transaction).

    Raises:
        RolloverNotReady: no rollover under way, not prepared, or a service lacks its next RA.
        ApplicationError, ValidationError: a SCEP profile cannot follow (nothing is changed).
    """
    rollover = _ready_or_refuse(authority, "switch")
    return _switch(rollover, now or timezone.now())


def ca_rollover_switch_due(*, now: dt.datetime | None = None) -> list[SwitchReport]:
    """The beat job: switch every prepared rollover whose time has come. Idempotent: a rollover switched
    meanwhile (another run, the command) is refused under its row lock and skipped; one that cannot
    switch is logged and tried again on the next run.
    """
    moment = now or timezone.now()
    due = AuthorityRollover.objects.filter(status=RolloverStatus.PREPARED, switch_at__lte=moment).order_by(
        "switch_at", "pk"
    )
    reports: list[SwitchReport] = []
    for rollover in due.select_related("authority", "successor"):
        try:
            reports.append(_switch(rollover, moment))
        except RolloverNotReady as exc:
            logger.info("CA rollover %s not switched: %s", rollover.pk, exc.message)
        except Exception:  # one rollover's failure must not stop the others; retried on the next run
            logger.exception("CA rollover %s could not be switched at its time", rollover.pk)
    return reports


@transaction.atomic
def ca_rollover_cancel(*, authority: CertificateAuthority) -> CancelReport:
    """Give up the rollover of ``authority`` before its switch (one transaction).

    Raises:
        RolloverNotReady: no rollover under way (never prepared, or switched already).
    """
    rollover = authority_rollover_cancel(rollover=_open_or_refuse(authority, "cancel"))
    services: list[str] = []
    roots: list[str] = []
    if rollover.successor is not None:
        services = scep_services_next_clear(successor=rollover.successor)
        roots = trusted_roots_next_unpublish(successor=rollover.successor)
    return CancelReport(rollover=rollover, services=services, trusted_roots=roots)
