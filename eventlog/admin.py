"""The connector's event log in the admin: read-only, filtered by event, level, diagnostic code and date."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from eventlog.catalogue import EVENTS, diagnostic_display
from eventlog.choices import DiagnosticCode, EventId
from eventlog.models import ConnectorEvent

__all__ = ["ConnectorEventAdmin"]


class EventIdFilter(admin.SimpleListFilter):
    title = "event ID"
    parameter_name = "event_id"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(str(event.value), f"{event.value} {event.label}") for event in sorted(EventId)]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        return queryset.filter(event_id=int(value)) if value and value.isdigit() else queryset


class DiagnosticCodeFilter(admin.SimpleListFilter):
    title = "diagnostic code"
    parameter_name = "diagnostic_code"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(str(code.value), diagnostic_display(code)) for code in DiagnosticCode]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        return queryset.filter(diagnostic_code=int(value)) if value and value.isdigit() else queryset


@admin.register(ConnectorEvent)
class ConnectorEventAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = (
        "created_at",
        "event_id",
        "event_name",
        "level",
        "message",
        "diagnostic",
        "device_external_id",
        "user_principal_name",
        "serial",
        "transaction_id",
    )
    list_filter = (EventIdFilter, "level", DiagnosticCodeFilter, "created_at")
    search_fields = (
        "=device_id",
        "device_external_id",
        "user_principal_name",
        "serial",
        "thumbprint",
        "transaction_id",
    )
    date_hierarchy = "created_at"
    fieldsets = (
        (None, {"fields": ("created_at", "event_id", "event_name", "event_description", "level", "message")}),
        ("Diagnostic", {"fields": ("diagnostic", "diagnostic_message", "diagnostic_action", "details")}),
        (
            "About",
            {
                "fields": (
                    "device_id",
                    "device_external_id",
                    "user_id",
                    "user_principal_name",
                    "authority_slug",
                    "ca_name",
                    "template_name",
                    "serial",
                    "thumbprint",
                )
            },
        ),
        (
            "SCEP",
            {
                "fields": (
                    "service_slug",
                    "scep_transaction_id",
                    "transaction_id",
                    "message_type",
                    "fail_info",
                    "client_address",
                )
            },
        ),
    )
    readonly_fields = (
        *(field.name for field in ConnectorEvent._meta.fields),
        "event_name",
        "event_description",
        "diagnostic",
        "diagnostic_message",
        "diagnostic_action",
    )

    @admin.display(description="event name")
    def event_name(self, obj: ConnectorEvent) -> str:
        return obj.event_name

    @admin.display(description="event description")
    def event_description(self, obj: ConnectorEvent) -> str:
        try:
            return EVENTS[EventId(obj.event_id)].description
        except ValueError:
            return ""

    @admin.display(description="diagnostic code", ordering="diagnostic_code")
    def diagnostic(self, obj: ConnectorEvent) -> str:
        return obj.diagnostic

    @admin.display(description="message of the code")
    def diagnostic_message(self, obj: ConnectorEvent) -> str:
        return obj.diagnostic_message

    @admin.display(description="what to do")
    def diagnostic_action(self, obj: ConnectorEvent) -> str:
        return obj.diagnostic_action

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
