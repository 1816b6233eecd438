"""The one generic write helper the apps' services share."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django.db import models

__all__ = ["ModelUpdate", "model_update"]

ModelT = TypeVar("ModelT", bound=models.Model)


@dataclass(frozen=True)
class ModelUpdate(Generic[ModelT]):
    instance: ModelT
    #: The fields whose value changed (and were saved); empty when nothing changed.
    changed: tuple[str, ...]

    @property
    def has_changed(self) -> bool:
        return bool(self.changed)


def model_update(
    *, instance: ModelT, data: Mapping[str, Any], fields: Collection[str], clean: bool = True
) -> ModelUpdate[ModelT]:
    """Set the values of ``data`` that differ from ``instance``'s, validate, and save only those fields.

    ``fields`` are the names a caller may update; any other key in ``data`` is a programming error
    (TypeError), not a silent no-op. A foreign key compares by primary key. Nothing is written when
    nothing changed; otherwise ``full_clean`` (unless ``clean`` is False, for a caller that validated
    already) runs on the whole instance and ``updated_at`` is saved with the changed fields when the
    model has one.
    """
    unknown = set(data) - set(fields)
    if unknown:
        names = ", ".join(sorted(unknown))
        raise TypeError(f"{type(instance).__name__} fields that cannot be updated: {names}")
    changed: list[str] = []
    for name, value in data.items():
        field = instance._meta.get_field(name)
        if field.many_to_many or field.one_to_many:
            raise TypeError(f"{type(instance).__name__}.{name} is a set of relations; it has its own service")
        attribute = name
        if field.many_to_one or field.one_to_one:
            current = getattr(instance, field.attname)  # type: ignore[union-attr]
            new = value.pk if isinstance(value, models.Model) else value
            if not isinstance(value, models.Model) and value is not None:
                attribute = field.attname  # type: ignore[union-attr]  # a primary key was given
        else:
            current, new = getattr(instance, name), value
        if current != new:
            setattr(instance, attribute, value)
            changed.append(name)
    if changed:
        if clean:
            instance.full_clean()
        update_fields = list(changed)
        if any(f.name == "updated_at" for f in instance._meta.concrete_fields):
            update_fields.append("updated_at")
        instance.save(update_fields=update_fields)
    return ModelUpdate(instance=instance, changed=tuple(changed))
