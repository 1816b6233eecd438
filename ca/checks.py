"""System checks: the key backends are configured and importable."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning, register
from django.utils.module_loading import import_string


@register()
def key_backends_configured(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    messages: list[CheckMessage] = []
    backends = getattr(settings, "CERTPORTAL_KEY_BACKENDS", {})
    if "default" not in backends:
        messages.append(Error("CERTPORTAL_KEY_BACKENDS has no 'default' backend", id="ca.E001"))
    for alias, config in backends.items():
        try:
            import_string(config["BACKEND"])
        except (ImportError, KeyError) as exc:
            messages.append(Error(f"key backend {alias!r} cannot be loaded: {exc}", id="ca.E002"))
    if not settings.CELERY_TASK_ALWAYS_EAGER and settings.CERTPORTAL_CA_KEY_PASSPHRASE and not settings.DEBUG:
        messages.append(
            Warning(
                "this process has the CA key passphrase although tasks run on workers; "
                "only the CA worker should have CERTPORTAL_CA_KEY_PASSPHRASE",
                id="ca.W001",
            )
        )
    return messages
