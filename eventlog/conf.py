"""The event log's settings (``CERTPORTAL_*``), typed and validated."""

from __future__ import annotations

from pydantic import Field

from core.conf import AppSettings, SettingsModel

__all__ = ["EventlogSettings", "eventlog_settings"]


class EventlogSettings(SettingsModel):
    #: Events older than this many days are deleted by the daily beat job; 0 keeps them for ever. Every
    #: check-in writes one, so a fleet's log grows by (devices x check-ins a day) rows a day.
    EVENT_RETENTION_DAYS: int = Field(default=400, ge=0, le=100 * 366)


eventlog_settings = AppSettings(EventlogSettings)
