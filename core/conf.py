"""Typed, validated app settings (django-ca's ``conf.py`` pattern).

Each app declares one frozen pydantic model of its ``CERTPORTAL_*`` settings with their defaults, in
its own ``conf.py``; ``AppSettings`` reads the Django settings that are set, validates them once, and
rebuilds the object when a test changes one of them. The defaults live only in the model: the project's
settings module sets a value only where the environment (or the embedded default) gives one.
"""

from __future__ import annotations

import threading
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from django.conf import settings
from django.core.checks import CheckMessage, Error
from django.core.signals import setting_changed

__all__ = ["AppSettings", "SettingsModel"]


class SettingsModel(BaseModel):
    """Base of an app's settings model: field ``X`` is the Django setting ``<prefix>X``."""

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)


ModelT = TypeVar("ModelT", bound=SettingsModel)


class AppSettings(Generic[ModelT]):
    """``app_settings()`` returns the validated settings model (built on first use, then cached)."""

    def __init__(self, model: type[ModelT], *, prefix: str = "CERTPORTAL_") -> None:
        self.model = model
        self.prefix = prefix
        self._value: ModelT | None = None
        self._lock = threading.Lock()
        setting_changed.connect(self._changed, weak=False)

    @property
    def setting_names(self) -> frozenset[str]:
        return frozenset(self.prefix + name for name in self.model.model_fields)

    def __call__(self) -> ModelT:
        value = self._value
        if value is None:
            with self._lock:
                if self._value is None:
                    self._value = self.load()
                value = self._value
        return value

    def load(self) -> ModelT:
        """Validate the settings now (raises pydantic's ValidationError with every problem at once)."""
        values = {
            name: getattr(settings, self.prefix + name)
            for name in self.model.model_fields
            if hasattr(settings, self.prefix + name)
        }
        return self.model.model_validate(values)

    def check(self, *, check_id: str) -> list[CheckMessage]:
        """A system check: one Error (``check_id``) per invalid setting, with the setting's name."""
        try:
            self.load()
        except ValidationError as exc:
            return [
                Error(f"{self.prefix}{error['loc'][0]}: {error['msg']}", id=check_id)
                for error in exc.errors()
            ]
        return []

    def _changed(self, *, setting: str, **kwargs: Any) -> None:
        if setting in self.setting_names:
            with self._lock:
                self._value = None
