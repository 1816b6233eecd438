"""Audit entries recorded by a service (django-auditlog records the model writes it sees by itself)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import models

from audit.choices import Action
from audit.models import AuditEntry

__all__ = ["audit_entry_record"]


def audit_entry_record(
    *,
    model: type[models.Model],
    object_pk: str,
    object_repr: str,
    action: Action,
    changes: Mapping[str, Any] | None = None,
    additional_data: Mapping[str, Any] | None = None,
) -> AuditEntry:
    """Record a write that the model's signals did not announce (e.g. a ``QuerySet.update`` or a bulk
    delete), as the current actor, in the caller's transaction. ``changes`` is ``{field: [before, after]}``
    and must hold no secret.
    """
    return AuditEntry.objects.create(
        content_type=ContentType.objects.get_for_model(model),
        object_pk=object_pk,
        object_id=int(object_pk) if object_pk.isdigit() else None,
        object_repr=object_repr,
        action=action,
        changes=dict(changes) if changes is not None else None,
        additional_data=dict(additional_data) if additional_data is not None else None,
    )
