"""The connector's event log in the admin: read-only, filtered by event ID, level, diagnostic code, device,
user and time; each code with the reference's name, message and what to do; SCEP numbers as names and
subjects with attribute names (``eventlog.display``); exportable as CSV with the list's filters.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from core.admin_lists import CsvExportAdminMixin, InputFilter
from eventlog.catalogue import EVENTS, diagnostic_display
from eventlog.choices import DiagnosticCode, EventId
from eventlog.display import fail_info_name, message_type_name, readable_details, readable_names
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


class DeviceFilter(InputFilter):
    """By the device's Intune ID (or its portal id, as the device page links here)."""

    title = "device"
    parameter_name = "device"
    placeholder = "Intune device ID or id"

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = (self.value() or "").strip()
        if not value:
            return queryset
        match = Q(device_external_id=value)
        if value.isdigit():
            match |= Q(device_id=int(value))
        return queryset.filter(match)


class UserFilter(InputFilter):
    title = "user"
    parameter_name = "user"
    placeholder = "user principal name"

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = (self.value() or "").strip()
        return queryset.filter(user_principal_name__icontains=value) if value else queryset


def _csv_columns() -> list[tuple[str, Any]]:
    return [
        ("created_at", lambda e: e.created_at),
        ("event_id", lambda e: e.event_id),
        ("event_name", lambda e: e.event_name),
        ("level", lambda e: e.level),
        ("diagnostic_code", lambda e: e.diagnostic_code_hex),
        ("diagnostic_name", lambda e: e.diagnostic.partition(" ")[2]),
        ("message", lambda e: readable_names(e.message)),
        ("device_external_id", lambda e: e.device_external_id),
        ("user_principal_name", lambda e: e.user_principal_name),
        ("serial", lambda e: e.serial),
        ("fail_info", lambda e: fail_info_name(e.fail_info)),
        ("transaction_id", lambda e: e.transaction_id),
    ]


@admin.register(ConnectorEvent)
class ConnectorEventAdmin(CsvExportAdminMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("when", "event_and_message", "level_display", "diagnostic")
    list_display_links = ("when",)
    list_filter = (
        EventIdFilter,
        "level",
        DiagnosticCodeFilter,
        DeviceFilter,
        UserFilter,
        "created_at",
    )
    search_fields = (
        "=device_id",
        "device_external_id",
        "user_principal_name",
        "serial",
        "thumbprint",
        "transaction_id",
        "message",
    )
    date_hierarchy = "created_at"
    csv_columns = _csv_columns()
    csv_filename = "connector-events.csv"
    change_list_template = "admin/eventlog/connectorevent/change_list.html"
    fieldsets = (
        (None, {"fields": ("created_at", "event", "event_description", "level", "message_display")}),
        (
            "Diagnostic",
            {"fields": ("diagnostic", "diagnostic_message", "diagnostic_action", "details_display")},
        ),
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
                    "message_type_display",
                    "fail_info_display",
                    "client_address",
                )
            },
        ),
    )
    readonly_fields = (
        *(field.name for field in ConnectorEvent._meta.fields),
        "event",
        "event_description",
        "level_display",
        "message_display",
        "diagnostic",
        "diagnostic_message",
        "diagnostic_action",
        "details_display",
        "message_type_display",
        "fail_info_display",
    )

    @admin.display(description="event", ordering="event_id")
    def event(self, obj: ConnectorEvent) -> str:
        return format_html("<strong>{}</strong> {}", obj.event_id, obj.event_name)

    @admin.display(description="time", ordering="created_at")
    def when(self, obj: ConnectorEvent) -> str:
        """Date and time, each kept whole: the list may put the time under the date to fit 1280 px."""
        return format_html(
            '<span class="nowrap">{}</span> <span class="nowrap">{}</span>',
            f"{obj.created_at:%Y-%m-%d}",
            f"{obj.created_at:%H:%M:%S}",
        )

    @admin.display(description="event")
    def event_and_message(self, obj: ConnectorEvent) -> str:
        message = readable_names(obj.message)
        about = " · ".join(part for part in (obj.device_external_id, obj.user_principal_name) if part)
        return format_html(
            '<strong>{}</strong> {}<div class="cp-muted cp-clip cp-event-message" title="{}">{}</div>{}',
            obj.event_id,
            obj.event_name,
            message,
            message,
            format_html('<div class="cp-muted cp-clip cp-event-message">{}</div>', about) if about else "",
        )

    @admin.display(description="event description")
    def event_description(self, obj: ConnectorEvent) -> str:
        try:
            return EVENTS[EventId(obj.event_id)].description
        except ValueError:
            return ""

    @admin.display(description="level", ordering="level")
    def level_display(self, obj: ConnectorEvent) -> str:
        tone = {"error": "failed", "warning": "expired", "information": "issued"}.get(obj.level, "")
        return format_html('<span class="cp-badge cp-badge-{}">{}</span>', tone, obj.get_level_display())

    @admin.display(description="diagnostic code", ordering="diagnostic_code")
    def diagnostic(self, obj: ConnectorEvent) -> str:
        if obj.diagnostic_code is None:
            return format_html('<span class="cp-muted">{}</span>', "no code")
        advice = " — ".join(part for part in (obj.diagnostic_message, obj.diagnostic_action) if part)
        return format_html('<span class="cp-code" title="{}">{}</span>', advice, obj.diagnostic)

    @admin.display(description="message")
    def message_display(self, obj: ConnectorEvent) -> str:
        return format_html(
            '<span class="cp-clip cp-message" title="{0}">{0}</span>', readable_names(obj.message)
        )

    @admin.display(description="device / user")
    def about(self, obj: ConnectorEvent) -> str:
        parts = [part for part in (obj.device_external_id, obj.user_principal_name) if part]
        return format_html_join(mark_safe("<br>"), "{}", ((part,) for part in parts)) if parts else ""

    @admin.display(description="message of the code")
    def diagnostic_message(self, obj: ConnectorEvent) -> str:
        return obj.diagnostic_message

    @admin.display(description="what to do")
    def diagnostic_action(self, obj: ConnectorEvent) -> str:
        return obj.diagnostic_action

    @admin.display(description="details")
    def details_display(self, obj: ConnectorEvent) -> str:
        lines = readable_details(obj.details)
        if not lines:
            return ""
        return format_html(
            '<dl class="cp-fields">{}</dl>', format_html_join("", "<dt>{}</dt><dd>{}</dd>", lines)
        )

    @admin.display(description="SCEP messageType")
    def message_type_display(self, obj: ConnectorEvent) -> str:
        return message_type_name(obj.message_type)

    @admin.display(description="SCEP failInfo")
    def fail_info_display(self, obj: ConnectorEvent) -> str:
        return fail_info_name(obj.fail_info)

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        return super().changelist_view(request, {"title": "Connector events", **(extra_context or {})})

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
