"""The notification settings (``CERTPORTAL_NOTIFY_*``), typed and validated."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationInfo, field_validator

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from core.conf import AppSettings, SettingsModel

__all__ = ["WEBHOOK_SCHEMES", "NotificationsSettings", "notifications_settings"]

#: The only URL schemes a webhook may have (no file:, ftp:, gopher: ... from a mistyped setting).
WEBHOOK_SCHEMES = frozenset({"http", "https"})

#: Shortest webhook secret accepted (characters).
WEBHOOK_SECRET_MIN_LENGTH = 16


class NotificationsSettings(SettingsModel):
    #: Who gets the notices by email: addresses, comma-separated in the environment (none: no email).
    NOTIFY_EMAILS: tuple[str, ...] = ()
    #: Where the notices are POSTed as signed JSON, an http(s) URL (empty: no webhook).
    NOTIFY_WEBHOOK_URL: str = ""
    #: Key of the webhook's HMAC-SHA256 signature; required with a webhook URL.
    NOTIFY_WEBHOOK_SECRET: SecretStr = Field(default=SecretStr(""), validate_default=True)
    #: How long to wait for the mail server or the webhook (seconds).
    NOTIFY_TIMEOUT: float = Field(default=10.0, gt=0, le=60)
    #: A certificate is announced once when its notAfter comes this close (days).
    NOTIFY_EXPIRY_WINDOW_DAYS: int = Field(default=30, ge=1, le=3650)
    #: How often beat looks for certificates entering the window (seconds; daily).
    NOTIFY_EXPIRY_INTERVAL: float = Field(default=24 * 3600.0, ge=60)
    #: How often beat looks for enrollments that failed (seconds; hourly).
    NOTIFY_FAILURE_INTERVAL: float = Field(default=3600.0, ge=60)

    @field_validator("NOTIFY_EMAILS", mode="before")
    @classmethod
    def _emails(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.split(",")
        if not isinstance(value, list | tuple):
            return value  # pydantic reports the type
        addresses = tuple(str(item).strip() for item in value if str(item).strip())
        for address in addresses:
            try:
                validate_email(address)
            except ValidationError as exc:
                raise ValueError(f"{address!r} is not an email address") from exc
        return addresses

    @field_validator("NOTIFY_WEBHOOK_URL")
    @classmethod
    def _webhook_url(cls, value: str) -> str:
        value = value.strip()
        if not value:
            return value
        parts = urlsplit(value)
        if parts.scheme.lower() not in WEBHOOK_SCHEMES or not parts.hostname:
            raise ValueError("the webhook must be an http:// or https:// URL with a host")
        return value

    @field_validator("NOTIFY_WEBHOOK_SECRET")
    @classmethod
    def _webhook_secret(cls, value: SecretStr, info: ValidationInfo) -> SecretStr:
        if info.data.get("NOTIFY_WEBHOOK_URL") and len(value.get_secret_value()) < WEBHOOK_SECRET_MIN_LENGTH:
            raise ValueError(
                f"a webhook needs a secret of at least {WEBHOOK_SECRET_MIN_LENGTH} characters "
                "(its requests are signed with it)"
            )
        return value


notifications_settings = AppSettings(NotificationsSettings)
