"""The profiles app's settings (``CERTPORTAL_*``), typed and validated."""

from __future__ import annotations

from pydantic import Field

from core.conf import AppSettings, SettingsModel

__all__ = ["ProfilesSettings", "profiles_settings"]


class ProfilesSettings(SettingsModel):
    #: Lifetime of a one-time SCEP challenge handed out at check-in (minutes).
    CHALLENGE_TTL_MINUTES: int = Field(default=60, ge=1, le=7 * 24 * 60)


profiles_settings = AppSettings(ProfilesSettings)
