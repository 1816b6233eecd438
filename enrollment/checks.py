"""System checks: the SCEP front end's settings are valid (enrollment.E001), its verifiers importable
(E002), the rate limits' settings valid (E003).
"""

from __future__ import annotations

from typing import Any

from django.core.checks import CheckMessage, Error, register
from django.utils.module_loading import import_string

from core.throttling import throttle_settings
from enrollment.conf import enrollment_settings


@register()
def enrollment_settings_valid(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    invalid = enrollment_settings.check(check_id="enrollment.E001")
    if invalid:
        return invalid
    messages: list[CheckMessage] = []
    for path in enrollment_settings().CHALLENGE_VERIFIERS:
        try:
            import_string(path)
        except ImportError as exc:
            messages.append(
                Error(f"challenge verifier {path!r} cannot be loaded: {exc}", id="enrollment.E002")
            )
    return messages


@register()
def rate_limit_settings_valid(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    """The rate limits' settings (core.throttling), which the SCEP endpoint and the API share."""
    return throttle_settings.check(check_id="enrollment.E003")
