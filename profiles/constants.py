"""Constants of the profiles app."""

from __future__ import annotations

from typing import Final

from directory.models import Platform

__all__ = ["DEVICE_CERTIFICATE_PLATFORMS", "DEVICE_CERTIFICATE_PLATFORM_NAMES"]

#: Platforms on which Intune offers the Device certificate type (in the order the admin reads them).
DEVICE_CERTIFICATE_PLATFORMS: Final = (Platform.IOS, Platform.WINDOWS_81, Platform.WINDOWS_10)
#: "iOS, Windows 8.1 and later, Windows 10 and later": the field's help text and the rule's message.
DEVICE_CERTIFICATE_PLATFORM_NAMES: Final = ", ".join(
    str(platform.label) for platform in DEVICE_CERTIFICATE_PLATFORMS
)
