"""Who else must know when the directory changes in a way that can change what applies to a device: a
small interface owned by the directory, implemented elsewhere and listed in
``CERTPORTAL_DIRECTORY_OBSERVERS`` (the directory imports no observer).

The directory's services call :func:`directory_changed` with the devices and users whose group membership
or ownership changed (a member added to or removed from a group, a group deleted, a device's primary user
changed); once the transaction commits, every observer's ``members_changed`` gets them, all of one
transaction at once. The profiles app uses it to revoke the certificates of profiles that no longer apply.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from typing import Any

from django.core.signals import setting_changed
from django.db import DatabaseError, transaction
from django.utils.module_loading import import_string

from core.exceptions import ApplicationError
from directory.conf import directory_settings

__all__ = ["DirectoryObserver", "directory_changed", "directory_observers"]

logger = logging.getLogger(__name__)


class DirectoryObserver:
    def members_changed(self, *, device_ids: frozenset[int], user_ids: frozenset[int]) -> None:
        return None


class _Observers:
    def __init__(self) -> None:
        self._observers: list[DirectoryObserver] | None = None
        self._lock = threading.Lock()

    def all(self) -> list[DirectoryObserver]:
        with self._lock:
            if self._observers is None:
                self._observers = [import_string(path)() for path in directory_settings().DIRECTORY_OBSERVERS]
            return self._observers

    def reset(self) -> None:
        with self._lock:
            self._observers = None


directory_observers = _Observers()
_pending = threading.local()


def directory_changed(*, device_ids: Iterable[int] = (), user_ids: Iterable[int] = ()) -> None:
    """Tell the observers, when the transaction commits, that these devices' and users' membership changed."""
    devices: set[int] = getattr(_pending, "devices", set())
    users: set[int] = getattr(_pending, "users", set())
    devices.update(device_ids)
    users.update(user_ids)
    _pending.devices, _pending.users = devices, users
    if devices or users:
        transaction.on_commit(_flush)


def _flush() -> None:
    devices = frozenset(getattr(_pending, "devices", ()))
    users = frozenset(getattr(_pending, "users", ()))
    _pending.devices, _pending.users = set(), set()
    if not devices and not users:
        return  # flushed by an earlier callback of the same transaction
    for observer in directory_observers.all():
        try:
            observer.members_changed(device_ids=devices, user_ids=users)
        except (DatabaseError, ApplicationError, LookupError, ValueError):
            logger.exception("directory observer %s failed for %s devices", observer, len(devices))


def _reset(*, setting: str, **kwargs: Any) -> None:
    if setting == "CERTPORTAL_DIRECTORY_OBSERVERS":
        directory_observers.reset()


setting_changed.connect(_reset, weak=False)
