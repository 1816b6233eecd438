"""Serializer helpers shared by the apps' APIs."""

from __future__ import annotations

import copy
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Model
from rest_framework import serializers

__all__ = ["FullCleanMixin"]


class FullCleanMixin(serializers.ModelSerializer):  # type: ignore[type-arg]
    """Run the model's ``full_clean`` on the would-be result, so that model rules answer as field-level
    400s instead of surfacing as errors at save time.

    An update validates a copy of the saved row (so that unique checks do not find the row itself) with
    the new values set through the field names (so that a changed foreign key is validated as changed).
    """

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs = super().validate(attrs)
        model: type[Model] = self.Meta.model
        instance = model() if self.instance is None else copy.copy(self.instance)  # copies _state too
        for name, value in attrs.items():
            try:
                field = model._meta.get_field(name)
            except FieldDoesNotExist:
                continue  # a serializer-only input, handled by the subclass
            if not field.many_to_many:
                setattr(instance, name, value)
        try:
            instance.full_clean(validate_unique=True)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(serializers.as_serializer_error(exc)) from exc
        return attrs
