"""Changing an existing SCEP service, every change named with its value before and after.

One service for every setting an operator may change on a service that exists (``manage.py scep_service
update``, and the static challenge and policy that ``init_scep_service`` changes): which service is the
default (the NDES paths /certsrv/mscep/mscep.dll, /scep and /cgi-bin/pkiclient.exe; the default moves, so
that there is at most one), legacy algorithms, templates, the static challenge (only ever shown as set or
none) and what it may authorise, one-time challenges, renewal. The service's CA and RA are not among them:
a service moves to another CA by a CA rollover (``manage.py ca_rollover``), and its RA by the RA renewal.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from django.db import transaction

from ca.models import CertificateTemplate
from core.exceptions import ApplicationError
from core.services import model_update
from enrollment.models import ScepService
from enrollment.verifiers.static import static_challenge_digest

__all__ = [
    "UNCHANGED",
    "ScepServiceChange",
    "scep_service_settings",
    "scep_service_update",
]


class _Unchanged(enum.Enum):
    UNCHANGED = enum.auto()


#: "Leave it as it is", for the settings where None is a value (the optional templates).
UNCHANGED: Final = _Unchanged.UNCHANGED

#: What each setting is called where a change is shown, in the order they are shown.
_LABELS: Final = {
    "name": "name",
    "enabled": "enabled",
    "is_default": "default service (/scep, /certsrv/mscep/mscep.dll, /cgi-bin/pkiclient.exe)",
    "allow_legacy_algorithms": "legacy algorithms (DES, 3DES, SHA-1)",
    "general_purpose_template": "template (NDES GeneralPurposeTemplate)",
    "signature_template": "signature template (NDES SignatureTemplate)",
    "encryption_template": "encryption template (NDES EncryptionTemplate)",
    "static_challenge_digest": "static challenge",
    "static_subject_from_request": "static challenge: subject from the request",
    "static_san_types": "static challenge: SAN types",
    "static_subject_pattern": "static challenge: subject pattern",
    "accept_one_time_challenges": "one-time challenges (SCEP profiles)",
    "allow_renewal": "renewal (RenewalReq)",
    "renewal_window_days": "renewal window",
}
_TEMPLATE_FIELDS: Final = ("general_purpose_template", "signature_template", "encryption_template")


@dataclass(frozen=True)
class ScepServiceChange:
    """One setting of one service that changed (or, ``dry_run``, would change)."""

    service: str
    setting: str
    before: str
    after: str

    def __str__(self) -> str:
        return f"{self.setting}: {self.before} → {self.after}"


def _text(service: ScepService, name: str) -> str:
    """A setting's value as the operator reads it; a static challenge is only ever 'set' or 'none'."""
    value: Any = getattr(service, name)
    if name == "static_challenge_digest":
        return "set" if value else "none"
    if name == "static_san_types":
        return ", ".join(value) or "none"
    if name == "static_subject_pattern":
        return value or "(any subject)"
    if name == "renewal_window_days":
        return f"the last {value} days before expiry" if value else "any time before expiry"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, CertificateTemplate):
        return value.name
    return "none" if value is None else str(value)


def scep_service_settings(service: ScepService) -> dict[str, str]:
    """Every setting this module changes, label -> value as text (what ``scep_service show`` prints)."""
    return {label: _text(service, name) for name, label in _LABELS.items()}


@transaction.atomic
def scep_service_update(
    *,
    service: ScepService,
    name: str | None = None,
    enabled: bool | None = None,
    is_default: bool | None = None,
    allow_legacy_algorithms: bool | None = None,
    general_purpose_template: CertificateTemplate | None = None,
    signature_template: CertificateTemplate | _Unchanged | None = UNCHANGED,
    encryption_template: CertificateTemplate | _Unchanged | None = UNCHANGED,
    static_challenge: str | None = None,
    static_subject_from_request: bool | None = None,
    static_san_types: Sequence[str] | None = None,
    static_subject_pattern: str | None = None,
    accept_one_time_challenges: bool | None = None,
    allow_renewal: bool | None = None,
    renewal_window_days: int | None = None,
    dry_run: bool = False,
) -> list[ScepServiceChange]:
    """Change the settings given (None, or ``UNCHANGED`` for the optional templates, leaves one as it is);
    return what changed, the other service that stops being the default included.

    ``static_challenge`` '' removes the static challenge. ``is_default`` True takes the default from the
    service that has it; False leaves no default service. The templates are published on the service's CA
    (as when a service is created). ``dry_run`` computes the same changes and writes nothing.

    Raises:
        ApplicationError: a static challenge of fewer than 8 characters.
        ValidationError: an invalid value (an unsafe subject pattern, a UPN among the SAN types, ...);
            nothing is saved then.
    """
    locked = ScepService.objects.select_for_update().select_related("authority").get(pk=service.pk)
    data: dict[str, Any] = {
        key: value
        for key, value in {
            "name": name,
            "enabled": enabled,
            "allow_legacy_algorithms": allow_legacy_algorithms,
            "general_purpose_template": general_purpose_template,
            "static_subject_from_request": static_subject_from_request,
            "static_san_types": list(static_san_types) if static_san_types is not None else None,
            "static_subject_pattern": static_subject_pattern,
            "accept_one_time_challenges": accept_one_time_challenges,
            "allow_renewal": allow_renewal,
            "renewal_window_days": renewal_window_days,
        }.items()
        if value is not None
    }
    for key, optional in (
        ("signature_template", signature_template),
        ("encryption_template", encryption_template),
    ):
        if not isinstance(optional, _Unchanged):
            data[key] = optional
    if static_challenge is not None:
        if static_challenge and len(static_challenge) < 8:
            raise ApplicationError(
                "a static challenge needs at least 8 characters", code="challenge_too_short"
            )
        digest = static_challenge_digest(static_challenge) if static_challenge else ""
        if digest != locked.static_challenge_digest:
            data["static_challenge_digest"] = digest
    before = {key: _text(locked, key) for key in _LABELS}
    moved: list[ScepServiceChange] = []
    with transaction.atomic():  # a savepoint: a dry run rolls it back
        if is_default is not None and is_default != locked.is_default:
            data["is_default"] = is_default
            others = ScepService.objects.select_for_update().filter(is_default=True).exclude(pk=locked.pk)
            for other in others if is_default else ():
                # The one default: the service that has it gives it up first (a partial unique constraint).
                other.is_default = False
                other.save(update_fields=["is_default", "updated_at"])
                moved.append(ScepServiceChange(other.slug, _LABELS["is_default"], "yes", "no"))
        for key in _TEMPLATE_FIELDS:
            if isinstance(template := data.get(key), CertificateTemplate):
                locked.authority.published_templates.add(template)
        update = model_update(instance=locked, data=data, fields=_LABELS.keys())
        if dry_run:
            transaction.set_rollback(True)
    changes = list(moved)
    for key in (key for key in _LABELS if key in update.changed):
        after = _text(locked, key)
        if key == "static_challenge_digest" and after == before[key]:
            after = "changed"  # one secret for another: neither is ever shown
        changes.append(ScepServiceChange(locked.slug, _LABELS[key], before[key], after))
    if not dry_run:
        service.refresh_from_db()
    return changes
