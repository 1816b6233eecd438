"""The audit log in the admin: read-only for everyone, superusers included (no add, change or delete).

django-auditlog registers its own admin for the entry model; it lets a cascade delete entries, so it is
replaced by this one. The changes are rendered by django-auditlog's mixin.
"""

from __future__ import annotations

from typing import Any

from auditlog.mixins import LogEntryAdminMixin

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from audit.models import AuditEntry
from audit.selectors import audit_entry_list

__all__ = ["AuditEntryAdmin"]

if admin.site.is_registered(AuditEntry):
    admin.site.unregister(AuditEntry)


@admin.register(AuditEntry)
class AuditEntryAdmin(LogEntryAdminMixin, admin.ModelAdmin):  # type: ignore[misc,type-arg]  # untyped mixin
    date_hierarchy = "timestamp"
    list_display = ("timestamp", "action", "object_type", "object_repr", "actor_kind", "actor_name", "via")
    list_filter = ("action", "actor_kind", "object_type", "timestamp")
    search_fields = ("=object_pk", "object_repr", "actor_name", "actor_token", "on_behalf_of", "=cid")
    fieldsets = (
        (None, {"fields": ("timestamp", "action", "object_type", "object_pk", "object_repr", "sealed")}),
        ("Changes", {"fields": ("msg", "additional_data")}),
        (
            "Who",
            {
                "fields": (
                    "actor_kind",
                    "actor_name",
                    "actor",
                    "actor_token",
                    "actor_device_id",
                    "on_behalf_of",
                    "os_user",
                    "remote_addr",
                    "via",
                    "cid",
                )
            },
        ),
    )
    readonly_fields = (*(field.name for field in AuditEntry._meta.fields), "msg", "sealed")

    def get_queryset(self, request: HttpRequest) -> QuerySet[AuditEntry]:
        self.request = request  # the mixin's filter links read it
        return audit_entry_list()

    @admin.display(description="sealed", boolean=True)
    def sealed(self, obj: AuditEntry) -> bool:
        return bool(getattr(obj, "sealed", False))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
