"""Columns shared by the admin's device lists (the directory's and the managed devices'), short enough for
the lists to fit 1280 px beside the navigation and the filters.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html

from directory.models import Device, Platform

__all__ = ["PLATFORM_SHORT", "device_name_cell", "platform_cell", "timestamp_cell"]

#: The platform as a list column says it (the filters and the pages say it in full).
PLATFORM_SHORT: Final[dict[str, str]] = {
    Platform.ANDROID_ENTERPRISE: "Android Ent.",
    Platform.WINDOWS_PHONE_81: "Win Phone 8.1",
    Platform.WINDOWS_81: "Windows 8.1+",
    Platform.WINDOWS_10: "Windows 10+",
}


def platform_cell(device: Device, *, with_os: bool = False) -> str:
    short = PLATFORM_SHORT.get(device.platform, device.get_platform_display())
    return f"{short} {device.os_version}" if with_os and device.os_version else short


def device_name_cell(device: Device) -> str:
    """The name, with the state when the device is retired or wiped."""
    if device.is_active:
        return device.name
    return format_html('{} <span class="dp-badge dp-none">{}</span>', device.name, device.get_state_display())


def timestamp_cell(value: datetime | None, *, empty: str = "never") -> str:
    return date_format(timezone.localtime(value), "Y-m-d H:i") if value is not None else empty
