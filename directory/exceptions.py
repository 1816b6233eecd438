"""Business-rule errors of the directory services."""

from __future__ import annotations

from core.exceptions import ApplicationError, Conflict

__all__ = [
    "DeviceNotActive",
    "DeviceStateChangeRefused",
    "DeviceStillActive",
    "GroupMemberKindMismatch",
    "ImportFileInvalid",
    "ObjectInUse",
]


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
