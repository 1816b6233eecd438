"""System checks: the audit log's settings are valid (audit.E001) and django-auditlog writes its entries
into ``audit.AuditEntry`` (audit.E002).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, register

from audit.conf import audit_settings

ENTRY_MODEL = "audit.AuditEntry"


@register()
def audit_settings_valid(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    return audit_settings.check(check_id="audit.E001")


@register()
def audit_entry_model(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    configured = getattr(settings, "AUDITLOG_LOGENTRY_MODEL", "auditlog.LogEntry")
    if configured != ENTRY_MODEL:
        return [
            Error(
                f"AUDITLOG_LOGENTRY_MODEL is {configured!r}: the audit log is {ENTRY_MODEL!r} (append-only, "
                "with its actor columns and hash chain)",
                id="audit.E002",
            )
        ]
    return []
