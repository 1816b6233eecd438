"""Device check-in tokens: a new one for an active device (shown once), and the device a token belongs to.

Only the token's HMAC is stored (``salted_hmac`` under ``SECRET_KEY``); a check compares in constant time.
"""

from __future__ import annotations

import secrets
from typing import Final

from django.conf import settings
from django.db import transaction
from django.utils.crypto import constant_time_compare, salted_hmac

from directory.exceptions import DeviceNotActive
from directory.models import Device, DeviceState

__all__ = ["CHECKIN_TOKEN_SALT", "device_authenticate", "device_checkin_token_rotate"]

#: ``salted_hmac`` key salt of device check-in tokens; only the HMAC is stored.
CHECKIN_TOKEN_SALT: Final = "certportal.directory.checkin-token"  # noqa: S105  (a salt, not a secret)


def _checkin_token_digest(token: str, *, secret: str | bytes | None = None) -> str:
    return salted_hmac(CHECKIN_TOKEN_SALT, token, secret=secret, algorithm="sha256").hexdigest()


@transaction.atomic
def device_checkin_token_rotate(*, device: Device) -> str:
    """Give an active device a new check-in token, returned this once; only its HMAC is stored.

    The previous token stops working at once.
    """
    if not device.is_active:
        raise DeviceNotActive(f"{device} is {device.state}; only an active device gets a check-in token")
    token = secrets.token_urlsafe(32)
    device.checkin_token_digest = _checkin_token_digest(token)
    # Not model_update: the digest is the only thing written and needs no validation of the whole device.
    device.save(update_fields=["checkin_token_digest", "updated_at"])
    return token


def device_authenticate(*, device_external_id: str, token: str) -> Device | None:
    """The active device whose check-in token this is, or None (unknown, not active, no or wrong token).

    Compares in constant time against the HMAC under ``SECRET_KEY`` and each ``SECRET_KEY_FALLBACKS``
    entry, so rotating the secret key the Django way does not lock devices out.
    """
    device = Device.objects.filter(external_id=device_external_id, state=DeviceState.ACTIVE).first()
    stored = device.checkin_token_digest if device is not None else ""
    matched = False
    for secret in [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]:
        # Always compute and compare, also for an unknown device, so timing tells nothing.
        matched |= constant_time_compare(_checkin_token_digest(token, secret=secret), stored or "-")
    if device is None or not stored or not matched:
        return None
    return device
