from __future__ import annotations

import django_filters
from django.db.models import Q, QuerySet

from directory.models import Device, DeviceState, DirectoryUser, Group, GroupKind, Platform

__all__ = ["DeviceFilterSet", "DirectoryUserFilterSet", "GroupFilterSet"]


class DirectoryUserFilterSet(django_filters.FilterSet):  # type: ignore[misc]
    upn = django_filters.CharFilter(field_name="user_principal_name", lookup_expr="iexact")
    email = django_filters.CharFilter(field_name="email", lookup_expr="iexact")
    department = django_filters.CharFilter(field_name="department", lookup_expr="iexact")
    search = django_filters.CharFilter(method="filter_search", label="Search UPN, names, e-mail, IDs")

    class Meta:
        model = DirectoryUser
        fields = ["external_id", "upn", "email", "department", "enabled", "search"]

    def filter_search(
        self, queryset: QuerySet[DirectoryUser], name: str, value: str
    ) -> QuerySet[DirectoryUser]:
        return queryset.filter(
            Q(user_principal_name__icontains=value)
            | Q(display_name__icontains=value)
            | Q(user_name__icontains=value)
            | Q(email__icontains=value)
            | Q(on_premises_sam_account_name__icontains=value)
            | Q(external_id__iexact=value)
        )


class DeviceFilterSet(django_filters.FilterSet):  # type: ignore[misc]
    platform = django_filters.MultipleChoiceFilter(choices=Platform.choices)
    state = django_filters.MultipleChoiceFilter(choices=DeviceState.choices)
    primary_user = django_filters.CharFilter(
        field_name="primary_user__external_id", label="Primary user's external_id"
    )
    primary_user_upn = django_filters.CharFilter(
        field_name="primary_user__user_principal_name", lookup_expr="iexact"
    )
    search = django_filters.CharFilter(
        method="filter_search", label="Search name, serial number, IMEI, IDs, MAC"
    )

    class Meta:
        model = Device
        fields = [
            "external_id",
            "platform",
            "state",
            "domain_joined",
            "primary_user",
            "primary_user_upn",
            "search",
        ]

    def filter_search(self, queryset: QuerySet[Device], name: str, value: str) -> QuerySet[Device]:
        return queryset.filter(
            Q(name__icontains=value)
            | Q(serial_number__iexact=value)
            | Q(imei__iexact=value)
            | Q(meid__iexact=value)
            | Q(external_id__iexact=value)
            | Q(aad_device_id__iexact=value)
            | Q(wifi_mac__iexact=value)
            | Q(fqdn__icontains=value)
        )


class GroupFilterSet(django_filters.FilterSet):  # type: ignore[misc]
    kind = django_filters.ChoiceFilter(choices=GroupKind.choices)
    user = django_filters.CharFilter(
        field_name="users__external_id", label="Groups holding this user (external_id)"
    )
    device = django_filters.CharFilter(
        field_name="devices__external_id", label="Groups holding this device (external_id)"
    )
    search = django_filters.CharFilter(method="filter_search", label="Search name, description, external_id")

    class Meta:
        model = Group
        fields = ["external_id", "kind", "user", "device", "search"]

    def filter_search(self, queryset: QuerySet[Group], name: str, value: str) -> QuerySet[Group]:
        return queryset.filter(
            Q(name__icontains=value) | Q(description__icontains=value) | Q(external_id__iexact=value)
        )
