"""The project's own settings (``CERTPORTAL_*``), typed and validated: who may scrape the metrics."""

from __future__ import annotations

import ipaddress
from typing import Any

from pydantic import Field, SecretStr, field_validator

from core.conf import AppSettings, SettingsModel

__all__ = ["PortalSettings", "portal_settings"]

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class PortalSettings(SettingsModel):
    #: ``/metrics`` answers a request with ``Authorization: Bearer <this token>`` (empty: no token needed
    #: if the networks below are set; neither set: ``/metrics`` is a 404).
    METRICS_TOKEN: SecretStr = SecretStr("")
    #: ``/metrics`` answers clients in these networks only (comma-separated CIDRs; the client as
    #: ``core.addresses`` reads it behind the trusted proxies).
    METRICS_ALLOWED_NETWORKS: tuple[Network, ...] = ()
    #: A Celery worker serves its own metrics on this TCP port (same token and networks); 0: it does not.
    METRICS_PORT: int = Field(default=0, ge=0, le=65535)

    @field_validator("METRICS_ALLOWED_NETWORKS", mode="before")
    @classmethod
    def _networks(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [item for item in value.split(",") if item.strip()]
        if not isinstance(value, list | tuple):
            return value
        try:
            return tuple(ipaddress.ip_network(str(item).strip(), strict=False) for item in value)
        except ValueError as exc:
            raise ValueError(f"not a network: {exc}") from exc

    @property
    def metrics_enabled(self) -> bool:
        return bool(self.METRICS_TOKEN.get_secret_value() or self.METRICS_ALLOWED_NETWORKS)


portal_settings = AppSettings(PortalSettings)
