from __future__ import annotations

import django_filters
from django.db.models import QuerySet

from eventlog.choices import EventId, EventLevel
from eventlog.models import ConnectorEvent

__all__ = ["ConnectorEventFilterSet"]


class ConnectorEventFilterSet(django_filters.FilterSet):  # type: ignore[misc]  # django-filter is untyped
    event_id = django_filters.TypedChoiceFilter(choices=EventId.choices, coerce=int)
    level = django_filters.ChoiceFilter(choices=EventLevel.choices)
    diagnostic_code = django_filters.CharFilter(
        method="filter_diagnostic_code",
        help_text="The code in hex as the connector shows it (0x00000411) or in decimal (1041)",
    )
    device_id = django_filters.NumberFilter(field_name="device_id")
    user_id = django_filters.NumberFilter(field_name="user_id")
    serial = django_filters.CharFilter(field_name="serial", lookup_expr="iexact")
    created_after = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = ConnectorEvent
        fields = ["event_id", "level", "diagnostic_code", "device_id", "user_id", "serial"]

    def filter_diagnostic_code(
        self, queryset: QuerySet[ConnectorEvent], name: str, value: str
    ) -> QuerySet[ConnectorEvent]:
        try:
            code = int(value.strip(), 0)
        except ValueError:
            try:
                code = int(value.strip())  # "0411" and the like: decimal with a leading zero
            except ValueError:
                return queryset.none()
        return queryset.filter(diagnostic_code=code)
