"""The audit log's settings (``CERTPORTAL_*``), typed and validated."""

from __future__ import annotations

from pydantic import Field

from core.conf import AppSettings, SettingsModel

__all__ = ["AuditSettings", "audit_settings"]


class AuditSettings(SettingsModel):
    #: Seconds between two runs of the sealing job (beat, default queue). Rows written since the last seal
    #: are not yet protected by the hash chain.
    AUDIT_SEAL_INTERVAL: float = Field(default=60.0, gt=0, le=24 * 60 * 60)
    #: A row is sealed once it is at least this many seconds old, and (on PostgreSQL) older than the oldest
    #: open writing transaction by as much: a transaction that commits late must not find its rows below
    #: the sealed end of the chain. It also absorbs clock differences between the hosts that write rows.
    AUDIT_SEAL_DELAY: float = Field(default=60.0, ge=0, le=24 * 60 * 60)


audit_settings = AppSettings(AuditSettings)
