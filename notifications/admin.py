"""Admin of the notices sent: read only; deleting one sends it again at the next run."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from notifications.models import SentNotice


@admin.register(SentNotice)
class SentNoticeAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("sent_at", "kind", "channel", "certificate", "window_days", "device_state", "failed_at")
    list_filter = ("kind", "channel")
    list_select_related = ("certificate", "device_state__device", "device_state__profile")
    search_fields = ("certificate__serial", "certificate__subject", "device_state__device__name")
    date_hierarchy = "sent_at"
    readonly_fields = (
        "kind",
        "channel",
        "certificate",
        "window_days",
        "device_state",
        "failed_at",
        "delivery_id",
        "sent_at",
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: SentNotice | None = None) -> bool:
        return False
