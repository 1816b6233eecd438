"""The directory's settings (``CERTPORTAL_*``), typed and validated."""

from __future__ import annotations

from core.conf import AppSettings, SettingsModel

__all__ = ["DirectorySettings", "directory_settings"]


class DirectorySettings(SettingsModel):
    #: Who follows changes of group membership and device ownership (``directory.observers``): dotted
    #: paths of DirectoryObserver classes. The project adds the profiles app's assignment reconciler.
    DIRECTORY_OBSERVERS: tuple[str, ...] = ()


directory_settings = AppSettings(DirectorySettings)
