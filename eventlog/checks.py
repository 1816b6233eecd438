"""System checks: the event log's settings are valid (eventlog.E001)."""

from __future__ import annotations

from typing import Any

from django.core.checks import CheckMessage, register

from eventlog.conf import eventlog_settings


@register()
def eventlog_settings_valid(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    return eventlog_settings.check(check_id="eventlog.E001")
