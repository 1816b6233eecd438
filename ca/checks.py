"""System checks: the CA's settings are valid (ca.E001) and its key backends importable (ca.E002)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning, register
from django.utils.module_loading import import_string

from ca.conf import ca_settings


@register()
def key_backends_configured(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    invalid = ca_settings.check(check_id="ca.E001")
    if invalid:
        return invalid
    config = ca_settings()
    messages: list[CheckMessage] = []
    for alias, backend in config.KEY_BACKENDS.items():
        try:
            import_string(backend["BACKEND"])
        except (ImportError, KeyError) as exc:
            messages.append(Error(f"key backend {alias!r} cannot be loaded: {exc}", id="ca.E002"))
    passphrase = config.CA_KEY_PASSPHRASE.get_secret_value()
    if not settings.CELERY_TASK_ALWAYS_EAGER and passphrase and not settings.DEBUG:
        messages.append(
            Warning(
                "this process has the CA key passphrase although tasks run on workers; "
                "only the CA worker should have CERTPORTAL_CA_KEY_PASSPHRASE",
                id="ca.W001",
            )
        )
    return messages
