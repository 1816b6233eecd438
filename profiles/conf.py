"""The profiles app's settings (``CERTPORTAL_*``), typed and validated."""

from __future__ import annotations

from pydantic import Field

from core.conf import AppSettings, SettingsModel

__all__ = ["ProfilesSettings", "profiles_settings"]


class ProfilesSettings(SettingsModel):
    #: Lifetime of a one-time SCEP challenge handed out at check-in (minutes).
    CHALLENGE_TTL_MINUTES: int = Field(default=60, ge=1, le=7 * 24 * 60)
    #: Let a profile put any SAN type in any certificate type (default: the reference's, user: email and
    #: UPN, device: DNS, and the SID URI for both). A wider set lets a profile manager make certificates
    #: that name identities the reference would not put there: keep it off unless a device needs it.
    PROFILE_ANY_SAN_TYPE: bool = False
    #: How often beat runs the device certificate sweep (renewal due, expired, revoked in the CA), seconds.
    CERTIFICATE_SWEEP_INTERVAL: float = Field(default=600.0, ge=10, le=24 * 3600)
    #: How long a check-in that asked the CA for a PKCS certificate waits for it (seconds); a device whose
    #: certificate is not ready by then gets it at its next check-in.
    PKCS_DELIVERY_WAIT: float = Field(default=5.0, ge=0, le=60)


profiles_settings = AppSettings(ProfilesSettings)
