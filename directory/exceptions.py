"""Business-rule errors of the directory services."""

from __future__ import annotations

import logging
from typing import Any

from core.exceptions import ApplicationError, Conflict

__all__ = [
    "DeviceNotActive",
    "DeviceStateChangeRefused",
    "DeviceStillActive",
    "GroupMemberKindMismatch",
    "ImportFileInvalid",
    "ImportNotPermitted",
    "ObjectInUse",
]


#: Where refused imports are recorded (``record``, called by the API's exception handler).
import_logger = logging.getLogger("directory.imports")


class GroupMemberKindMismatch(ApplicationError):
    """A user group holds only users, a device group only devices."""

    code = "group_member_kind_mismatch"


class DeviceStateChangeRefused(ApplicationError):
    """Retiring or wiping a device revokes its certificates: that goes through the profiles services."""

    code = "device_state_change_refused"


class DeviceNotActive(Conflict):
    """The operation needs an active device (not retired, not wiped)."""

    code = "device_not_active"


class DeviceStillActive(Conflict):
    """An active device cannot be deleted: retire or wipe it first, which revokes its certificates."""

    code = "device_active"


class ObjectInUse(Conflict):
    """A delete refused because other records still protect the object."""

    code = "object_in_use"


class ImportFileInvalid(ApplicationError):
    """A problem with the import file as a whole (unreadable, unknown columns); nothing was imported."""

    code = "import_file_invalid"

    def record(self) -> None:
        import_logger.warning("directory import refused, the file cannot be used: %s", self.message)


class ImportNotPermitted(ApplicationError):
    """The file holds a kind the requester may not import (creating and updating take both rights)."""

    code = "import_not_permitted"
    http_status = 403

    def __init__(self, message: str, *, requested_by: str, extra: dict[str, Any] | None = None) -> None:
        super().__init__(message, extra=extra)
        self.requested_by = requested_by

    def record(self) -> None:
        import_logger.warning("directory import by %s refused: %s", self.requested_by, self.message)
