"""Who else must know when certificates are revoked: a small interface owned by the CA, implemented
elsewhere and listed in ``CERTPORTAL_CERTIFICATE_OBSERVERS`` (the CA imports no observer; the project's
settings name them, as they name the challenge verifiers).

The CA calls its observers explicitly, at three points:

- ``revocation_context(certificate_ids)``, on the RA side while a revocation request is written: what the
  observer knows of each certificate's holder (device and user ids and names), kept on the request for the
  event log;
- ``revocation_requested(request)``, in the same database transaction (a device's certificate is now
  "revocation pending");
- ``certificates_revoked(request, certificate_ids)``, on the CA worker once the revocation has committed
  (the device's state says revoked, with the reason and the time).

An observer that fails is logged; the state it keeps is reconciled by its own sweep from the CA's rows.
"""

from __future__ import annotations

import threading
from collections.abc import Collection
from typing import TYPE_CHECKING, Any

from django.core.signals import setting_changed
from django.utils.module_loading import import_string

from ca.conf import ca_settings

if TYPE_CHECKING:
    from ca.models import RevocationRequest

__all__ = ["CertificateObserver", "certificate_observers"]


class CertificateObserver:
    """Base class: every hook is optional (the defaults do nothing)."""

    def revocation_context(self, certificate_ids: Collection[int]) -> dict[int, dict[str, Any]]:
        return {}

    def revocation_requested(self, request: RevocationRequest) -> None:
        return None

    def certificates_revoked(self, request: RevocationRequest, certificate_ids: Collection[int]) -> None:
        return None


class _Observers:
    def __init__(self) -> None:
        self._observers: list[CertificateObserver] | None = None
        self._lock = threading.Lock()

    def all(self) -> list[CertificateObserver]:
        with self._lock:
            if self._observers is None:
                self._observers = [import_string(path)() for path in ca_settings().CERTIFICATE_OBSERVERS]
            return self._observers

    def reset(self) -> None:
        with self._lock:
            self._observers = None


certificate_observers = _Observers()


def _reset(*, setting: str, **kwargs: Any) -> None:
    if setting == "CERTPORTAL_CERTIFICATE_OBSERVERS":
        certificate_observers.reset()


setting_changed.connect(_reset, weak=False)
