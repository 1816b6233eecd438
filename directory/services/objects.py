"""Create and delete, the same for users, devices and groups."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

from django.db import models
from django.db.models import ProtectedError, RestrictedError

from directory.exceptions import ObjectInUse

__all__ = ["object_create", "object_delete"]

ModelT = TypeVar("ModelT", bound=models.Model)


def object_create(*, model: type[ModelT], data: Mapping[str, Any]) -> ModelT:
    """Build, ``full_clean`` (every field error at once, as a ValidationError) and save a new object."""
    instance = model(**data)
    instance.full_clean()
    instance.save()
    return instance


def object_delete(*, instance: models.Model) -> None:
    """Delete; a delete that protecting or restricting records refuse is ``ObjectInUse`` (409)."""
    blockers: Iterable[models.Model]
    cause: Exception
    try:
        instance.delete()
        return
    except ProtectedError as exc:
        blockers, cause = exc.protected_objects, exc
    except RestrictedError as exc:
        blockers, cause = exc.restricted_objects, exc
    raise ObjectInUse(
        f"{instance} is still referenced by other records and cannot be deleted",
        extra={"referenced_by": sorted(f"{obj._meta.verbose_name}: {obj}" for obj in list(blockers)[:10])},
    ) from cause
