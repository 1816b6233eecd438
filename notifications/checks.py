"""System checks: the notification settings are valid (notifications.E001), and notices meant for email
have a mail server to go to (notifications.W001).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Warning, register

from notifications.conf import notifications_settings

#: Email backends that deliver nothing: a notice "sent" through them is recorded as sent and never read.
_UNDELIVERED_BACKENDS = frozenset(
    {
        "django.core.mail.backends.console.EmailBackend",
        "django.core.mail.backends.dummy.EmailBackend",
        "django.core.mail.backends.filebased.EmailBackend",
    }
)


@register()
def notifications_settings_valid(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    invalid = notifications_settings.check(check_id="notifications.E001")
    if invalid:
        return invalid
    if notifications_settings().NOTIFY_EMAILS and settings.EMAIL_BACKEND in _UNDELIVERED_BACKENDS:
        return [
            Warning(
                f"CERTPORTAL_NOTIFY_EMAILS is set but the email backend ({settings.EMAIL_BACKEND}) delivers "
                "nothing: the notices would be recorded as sent unread",
                hint="set EMAIL_URL to the mail server, e.g. smtp+tls://user:password@mail.example.com:587",
                id="notifications.W001",
            )
        ]
    return []
