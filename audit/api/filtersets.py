from __future__ import annotations

import django_filters
from django.db.models import Q, QuerySet

from audit.choices import Action, ActorKind
from audit.models import AuditEntry

__all__ = ["AuditEntryFilterSet"]

_ACTIONS = [(action.label, action.label) for action in Action]


class AuditEntryFilterSet(django_filters.FilterSet):  # type: ignore[misc]  # django-filter is untyped
    actor = django_filters.CharFilter(
        method="filter_actor",
        help_text="Who acted or started the command or task: a username, device:<Intune device ID>, "
        "command:<name>, task:<name>, anonymous or system",
    )
    actor_kind = django_filters.ChoiceFilter(choices=ActorKind.choices)
    actor_user = django_filters.NumberFilter(field_name="actor_id", help_text="The user's id")
    actor_token = django_filters.CharFilter(field_name="actor_token", help_text="The API token's identifier")
    actor_device_id = django_filters.NumberFilter(field_name="actor_device_id")
    object_type = django_filters.CharFilter(
        field_name="object_type", lookup_expr="iexact", help_text="app_label.model, e.g. ca.issuedcertificate"
    )
    object_id = django_filters.CharFilter(field_name="object_pk", help_text="The object's primary key")
    action = django_filters.ChoiceFilter(choices=_ACTIONS, method="filter_action")
    cid = django_filters.CharFilter(field_name="cid", help_text="Every write of one request, command or task")
    created_after = django_filters.IsoDateTimeFilter(field_name="timestamp", lookup_expr="gte")
    created_before = django_filters.IsoDateTimeFilter(field_name="timestamp", lookup_expr="lt")

    class Meta:
        model = AuditEntry
        fields = ["actor_kind", "object_type", "cid"]

    def filter_actor(self, queryset: QuerySet[AuditEntry], name: str, value: str) -> QuerySet[AuditEntry]:
        return queryset.filter(Q(actor_name=value) | Q(on_behalf_of=value))

    def filter_action(self, queryset: QuerySet[AuditEntry], name: str, value: str) -> QuerySet[AuditEntry]:
        return queryset.filter(action={action.label: action.value for action in Action}[value])
