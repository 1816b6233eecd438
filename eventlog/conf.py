"""The event log's settings (``CERTPORTAL_*``), typed and validated."""

from __future__ import annotations

from pydantic import Field, field_validator

from core.conf import AppSettings, SettingsModel

__all__ = ["EventlogSettings", "eventlog_settings"]


class EventlogSettings(SettingsModel):
    #: Events older than this many days are deleted by the daily beat job; 0 keeps them for ever. Every
    #: check-in writes one, so a fleet's log grows by (devices x check-ins a day) rows a day.
    EVENT_RETENTION_DAYS: int = Field(default=400, ge=0, le=100 * 366)
    #: Every event also goes to a SIEM as a CEF line over syslog: ``udp://host:514`` or ``tcp://host:601``,
    #: optionally ``?facility=local4`` (eventlog.syslog); empty: not streamed.
    EVENT_SYSLOG: str = ""

    @field_validator("EVENT_SYSLOG")
    @classmethod
    def _syslog(cls, value: str) -> str:
        from eventlog.syslog import syslog_target_parse  # noqa: PLC0415 - the parser lives with the sender

        if value.strip():
            syslog_target_parse(value)
        return value.strip()


eventlog_settings = AppSettings(EventlogSettings)
