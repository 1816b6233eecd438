"""The RA side of a CA rollover: asking for the successor, waiting for it, the switch, a cancellation.

None of this touches a CA key: the successor (a new key and certificate, signed by the parent's key or,
for a root, by its own) is created by the CA worker (``ca.services.successors``, sent by task name once
the request commits). What the rollover does to the SCEP services and profiles belongs to those apps; the
project's ``portal.rollover`` puts the steps together (``manage.py ca_rollover``).

After the switch the old CA issues nothing new: its templates are unpublished (it keeps the OCSP
responder template, which its own OCSP responders need), while it stays enabled, so that beat keeps
publishing its CRL and renewing its OCSP responder for what it issued until that expires.
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
import re
import time
import uuid

from cryptography import x509

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from ca.choices import RolloverStatus
from ca.crypto.keys import KeyPolicyError, KeySpec
from ca.dispatch import ca_task_send
from ca.exceptions import AuthorityUnavailable, PolicyViolation
from ca.messages import AuthoritySuccessorCreateMessage
from ca.models import AuthorityRollover, CertificateAuthority
from ca.services.ocsp import OCSP_TEMPLATE_NAME
from core.exceptions import ApplicationError

__all__ = [
    "RolloverNotReady",
    "authority_rollover_cancel",
    "authority_rollover_dispatch",
    "authority_rollover_open",
    "authority_rollover_request",
    "authority_rollover_schedule",
    "authority_rollover_switch",
    "authority_rollover_wait",
]

logger = logging.getLogger(__name__)

_NUMBERED_SLUG = re.compile(r"^(?P<base>.+?)-(?P<number>\d+)$")
_NUMBERED_NAME = re.compile(r"^(?P<base>.+?) \((?P<number>\d+)\)$")


class RolloverNotReady(ApplicationError):
    """The rollover cannot be switched (or scheduled, or cancelled) now; the message says why."""

    code = "rollover_not_ready"
    http_status = 409


def authority_rollover_open(*, authority: CertificateAuthority) -> AuthorityRollover | None:
    """The rollover of ``authority`` under way (requested or prepared), if any."""
    return (
        AuthorityRollover.objects.select_related("authority", "successor", "parent")
        .filter(authority=authority, status__in=RolloverStatus.open())
        .first()
    )


def _successor_names(authority: CertificateAuthority) -> tuple[str, str]:
    """The next free ``<slug>-<n>`` and ``<name> (<n>)``: corp-issuing -> corp-issuing-2 -> corp-issuing-3."""
    slug_match, name_match = _NUMBERED_SLUG.match(authority.slug), _NUMBERED_NAME.match(authority.name)
    slug_base = slug_match["base"] if slug_match else authority.slug
    name_base = name_match["base"] if name_match else authority.name
    first = int(slug_match["number"]) + 1 if slug_match else 2
    for number in itertools.count(first):  # pragma: no branch - some number is free
        slug, name = f"{slug_base}-{number}"[:64], f"{name_base} ({number})"[:128]
        if not _taken(slug=slug, name=name):
            return slug, name
    raise AssertionError("unreachable")  # pragma: no cover


def _taken(*, slug: str, name: str) -> bool:
    open_rollovers = AuthorityRollover.objects.filter(status__in=RolloverStatus.open())
    return (
        CertificateAuthority.objects.filter(Q(slug=slug) | Q(name=name)).exists()
        or open_rollovers.filter(Q(successor_slug=slug) | Q(successor_name=name)).exists()
    )


def _usable(authority: CertificateAuthority, what: str, now: dt.datetime) -> None:
    if not authority.enabled:
        raise AuthorityUnavailable(f"{what} {authority.slug} is disabled", code="authority_disabled")
    if authority.not_after <= now:
        raise AuthorityUnavailable(f"{what} {authority.slug} has expired", code="authority_expired")


def _path_length(authority: CertificateAuthority) -> int | None:
    try:
        return authority.certificate.extensions.get_extension_for_class(
            x509.BasicConstraints
        ).value.path_length
    except x509.ExtensionNotFound:  # pragma: no cover - our CA certificates all have it
        return None


def _key_spec(authority: CertificateAuthority) -> KeySpec:
    """The old CA's key type and size."""
    curve = "P" if authority.key_type == "EC" else ""
    try:
        return KeySpec.parse(f"{authority.key_type}-{curve}{authority.key_size}")
    except KeyPolicyError as exc:  # pragma: no cover - the CA's own key is one we make
        raise PolicyViolation(str(exc), code=exc.code) from exc


def authority_rollover_request(
    *,
    authority: CertificateAuthority,
    requested_by: str,
    successor_slug: str = "",
    successor_name: str = "",
    subject: x509.Name | None = None,
    key_spec: KeySpec | None = None,
    validity_days: int | None = None,
    parent: CertificateAuthority | None = None,
    path_length: int | None = None,
    key_backend: str = "",
    switch_at: dt.datetime | None = None,
) -> AuthorityRollover:
    """Ask the CA worker for ``authority``'s successor; it is created once this commits.

    What is not given is the old CA's: its subject, key type and size, lifetime, parent (a root's successor
    is a root: self-signed), path length and key backend; slug and name are the next free ``<slug>-<n>``
    and ``<name> (<n>)``. A subordinate's successor never outlives its parent (the CA worker caps it).

    Raises:
        AuthorityUnavailable: the CA or the parent is disabled or expired.
        PolicyViolation: a rollover is under way already, a slug or name is taken, a bad value.
    """
    now = timezone.now()
    _usable(authority, "CA", now)
    if authority_rollover_open(authority=authority) is not None:
        raise PolicyViolation(
            f"CA {authority.slug} has a rollover under way already (ca_rollover status {authority.slug})",
            code="rollover_under_way",
        )
    if parent is not None and authority.is_root:
        raise PolicyViolation(
            f"CA {authority.slug} is a root: its successor is a root too (self-signed), not signed by "
            f"{parent.slug}",
            code="rollover_parent_invalid",
        )
    signer = parent or authority.parent
    if signer is not None:
        _usable(signer, "parent CA", now)
        if signer.pk == authority.pk or authority.pk in {node.pk for node in signer.chain()}:
            raise PolicyViolation(
                f"{signer.slug} cannot sign the successor of {authority.slug}: it is {authority.slug} or "
                "issued under it",
                code="rollover_parent_invalid",
            )
    default_slug, default_name = _successor_names(authority)
    slug, name = successor_slug or default_slug, successor_name or default_name
    if (successor_slug or successor_name) and _taken(slug=slug, name=name):
        raise PolicyViolation(f"a CA named {slug!r} or {name!r} exists already", code="rollover_name_taken")
    days = (
        validity_days
        if validity_days is not None
        else max((authority.not_after - authority.not_before).days, 1)
    )
    if days < 1:
        raise PolicyViolation("validity must be at least one day", code="validity_not_allowed")
    if switch_at is not None and switch_at <= now:
        raise PolicyViolation(f"the switch time {switch_at.isoformat()} has passed", code="switch_at_past")
    spec = key_spec or _key_spec(authority)
    rollover = AuthorityRollover(
        authority=authority,
        successor_slug=slug,
        successor_name=name,
        successor_subject=subject.rfc4514_string() if subject is not None else "",
        key_spec=str(spec),
        validity_days=days,
        parent=signer,
        path_length=path_length if path_length is not None else _path_length(authority),
        key_backend=key_backend or authority.key_backend,
        switch_at=switch_at,
        requested_by=requested_by[:255],
        task_id=str(uuid.uuid4()),
    )
    with transaction.atomic():
        rollover.full_clean()
        rollover.save()
        transaction.on_commit(lambda: authority_rollover_dispatch(rollover), robust=True)
    logger.info("CA rollover %s of %s to %s requested by %s", rollover.pk, authority.slug, slug, requested_by)
    return rollover


def authority_rollover_dispatch(rollover: AuthorityRollover) -> None:
    """Hand a requested rollover to the CA worker (in the embedded default: create the successor now).

    Failing to reach the broker leaves it requested: ``ca_rollover prepare`` sends it again.
    """
    try:
        ca_task_send(
            AuthoritySuccessorCreateMessage(rollover_id=rollover.pk), task_id=rollover.task_id or None
        )
    except Exception:
        logger.exception("could not send CA rollover %s to the CA worker; it stays requested", rollover.pk)


def authority_rollover_wait(*, rollover: AuthorityRollover, timeout: float) -> AuthorityRollover:
    """Wait up to ``timeout`` seconds for the CA worker to create the successor; return the rollover fresh."""
    deadline = time.monotonic() + timeout
    delay = 0.01
    rollover.refresh_from_db()
    while rollover.status == RolloverStatus.REQUESTED and time.monotonic() < deadline:
        time.sleep(min(delay, max(deadline - time.monotonic(), 0)))
        delay = min(delay * 2, 0.25)
        rollover.refresh_from_db()
    return rollover


def authority_rollover_schedule(
    *, rollover: AuthorityRollover, switch_at: dt.datetime | None
) -> AuthorityRollover:
    """When beat switches it (None: only ``ca_rollover switch`` does)."""
    with transaction.atomic():
        locked = AuthorityRollover.objects.select_for_update().get(pk=rollover.pk)
        if locked.status not in RolloverStatus.open():
            raise RolloverNotReady(f"the rollover of {rollover.authority.slug} is {locked.status}")
        if switch_at is not None and switch_at <= timezone.now():
            raise PolicyViolation(
                f"the switch time {switch_at.isoformat()} has passed", code="switch_at_past"
            )
        locked.switch_at = switch_at
        locked.save(update_fields=["switch_at", "updated_at"])
    rollover.refresh_from_db()
    return rollover


def authority_rollover_switch(*, rollover: AuthorityRollover, now: dt.datetime) -> list[str]:
    """The CA's part of the switch, in the caller's transaction (the services and profiles switch in it too):
    the successor takes over the old CA's templates, the old CA keeps only its OCSP responder template, and
    the rollover is switched. Returns the templates the old CA stopped issuing.

    Raises:
        RolloverNotReady: not prepared, or the successor cannot issue yet.
    """
    locked = (
        AuthorityRollover.objects.select_for_update(of=("self",))  # successor is nullable: an outer join
        .select_related("authority", "successor")
        .get(pk=rollover.pk)
    )
    successor = locked.successor
    if locked.status != RolloverStatus.PREPARED or successor is None:
        raise RolloverNotReady(f"the rollover of {locked.authority.slug} is {locked.status}, not prepared")
    if not successor.enabled or not successor.not_before <= now < successor.not_after:
        raise RolloverNotReady(f"the next CA {successor.slug} is disabled or not valid at {now.isoformat()}")
    old = locked.authority
    templates = list(old.published_templates.exclude(name=OCSP_TEMPLATE_NAME).order_by("name"))
    successor.published_templates.add(*templates)
    old.published_templates.remove(*templates)
    locked.status = RolloverStatus.SWITCHED
    locked.switched_at = now
    locked.save(update_fields=["status", "switched_at", "updated_at"])
    rollover.refresh_from_db()
    logger.info("CA rollover %s: %s switched to %s", locked.pk, old.slug, successor.slug)
    return [template.name for template in templates]


def authority_rollover_cancel(*, rollover: AuthorityRollover) -> AuthorityRollover:
    """Give up a rollover before its switch: it is cancelled, and its successor (if the CA worker made it)
    is disabled, so that it issues nothing more; what it issued (the next RAs) stays on record.

    Raises:
        RolloverNotReady: not under way, or the successor signed CAs that are enabled (a root's successor
            under which an issuing CA was rolled: cancel that rollover first).
    """
    with transaction.atomic():
        locked = (
            AuthorityRollover.objects.select_for_update(of=("self",))
            .select_related("successor")
            .get(pk=rollover.pk)
        )
        if locked.status not in RolloverStatus.open():
            raise RolloverNotReady(
                f"the rollover of {rollover.authority.slug} is {locked.status}: "
                "only one under way is cancelled"
            )
        if locked.successor is not None:
            signed = sorted(locked.successor.children.filter(enabled=True).values_list("slug", flat=True))
            if signed:
                raise RolloverNotReady(
                    f"the next CA {locked.successor.slug} has signed CA(s) in use ({', '.join(signed)}): "
                    "cancel their rollovers first"
                )
        locked.status = RolloverStatus.CANCELLED
        locked.cancelled_at = timezone.now()
        locked.save(update_fields=["status", "cancelled_at", "updated_at"])
        if locked.successor is not None and locked.successor.enabled:
            locked.successor.enabled = False
            locked.successor.save(update_fields=["enabled", "updated_at"])
    rollover.refresh_from_db()
    return rollover
