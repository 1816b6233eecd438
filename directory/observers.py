"""Who else must know when the directory changes in a way that can change what applies to a device: a
small interface owned by the directory, implemented elsewhere and listed in
``CERTPORTAL_DIRECTORY_OBSERVERS`` (the directory imports no observer).

The directory's services call :func:`directory_changed` with the devices and users whose group membership
or ownership changed (a member added to or removed from a group, a group deleted, a device's primary user
changed); once the transaction commits, every observer's ``members_changed`` gets them. The profiles app
uses it to revoke the certificates of profiles that no longer apply.

Each announcement is an ``on_commit`` callback of the transaction (or savepoint) it was made in, so a
change that is rolled back is never announced, and nothing is left over for a later transaction. Work
that announces many changes, an import chunk, collects them in :func:`directory_changes_batched`: the
observers then hear of the whole chunk once, when it commits (and :meth:`DirectoryChanges.rewind` drops
what a row that failed had announced).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from django.core.signals import setting_changed
from django.db import DatabaseError, transaction
from django.utils.module_loading import import_string

from core.exceptions import ApplicationError
from directory.conf import directory_settings

__all__ = [
    "DirectoryChanges",
    "DirectoryObserver",
    "directory_changed",
    "directory_changes_batched",
    "directory_observers",
]

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
_local = threading.local()


@dataclass
class DirectoryChanges:
    """The changes announced inside :func:`directory_changes_batched`, in order."""

    device_ids: list[int] = field(default_factory=list)
    user_ids: list[int] = field(default_factory=list)

    def mark(self) -> tuple[int, int]:
        return len(self.device_ids), len(self.user_ids)

    def rewind(self, mark: tuple[int, int]) -> None:
        """Forget what was announced since ``mark`` (the work that announced it was rolled back)."""
        del self.device_ids[mark[0] :], self.user_ids[mark[1] :]


def directory_changed(*, device_ids: Iterable[int] = (), user_ids: Iterable[int] = ()) -> None:
    """Tell the observers, when the transaction commits, that these devices' and users' membership changed."""
    devices, users = frozenset(device_ids), frozenset(user_ids)
    if not devices and not users:
        return
    batch: DirectoryChanges | None = getattr(_local, "batch", None)
    if batch is not None:
        batch.device_ids.extend(devices)
        batch.user_ids.extend(users)
        return
    transaction.on_commit(partial(_notify, devices, users))


@contextmanager
def directory_changes_batched() -> Iterator[DirectoryChanges]:
    """Collect the changes announced inside the block and, if it ends without an error, announce them
    together when the transaction commits. Use it inside the transaction (or savepoint) that makes them:
    a rollback of that one drops the announcement. Nested, the outer block collects.
    """
    outer: DirectoryChanges | None = getattr(_local, "batch", None)
    if outer is not None:
        yield outer
        return
    batch = DirectoryChanges()
    _local.batch = batch
    try:
        yield batch
    finally:
        _local.batch = None
    if batch.device_ids or batch.user_ids:
        transaction.on_commit(partial(_notify, frozenset(batch.device_ids), frozenset(batch.user_ids)))


def _notify(devices: frozenset[int], users: frozenset[int]) -> None:
    for observer in directory_observers.all():
        try:
            observer.members_changed(device_ids=devices, user_ids=users)
        except (DatabaseError, ApplicationError, LookupError, ValueError):
            logger.exception("directory observer %s failed for %s devices", observer, len(devices))


def _reset(*, setting: str, **kwargs: Any) -> None:
    if setting == "CERTPORTAL_DIRECTORY_OBSERVERS":
        directory_observers.reset()


setting_changed.connect(_reset, weak=False)
