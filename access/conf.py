"""The access app's settings (``CERTPORTAL_*``), typed and validated."""

from __future__ import annotations

from pydantic import Field

from core.conf import AppSettings, SettingsModel

__all__ = ["AccessSettings", "access_settings"]


class AccessSettings(SettingsModel):
    #: Lifetime of a new API token when its creator names none (days; at most the maximum).
    API_TOKEN_DEFAULT_DAYS: int = Field(default=90, ge=1, le=3660)
    #: The longest lifetime an API token may be given (days): every token expires.
    API_TOKEN_MAX_DAYS: int = Field(default=366, ge=1, le=3660)


access_settings = AppSettings(AccessSettings)
