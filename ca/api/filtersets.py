from __future__ import annotations

import django_filters
from django.db.models import QuerySet

from ca.choices import CertificateRequestStatus, CertificateStatus
from ca.models import CertificateAuthority, CertificateRequest, CertificateTemplate, IssuedCertificate

__all__ = ["CertificateRequestFilterSet", "IssuedCertificateFilterSet"]


class IssuedCertificateFilterSet(django_filters.FilterSet):  # type: ignore[misc]  # django-filter is untyped
    status = django_filters.ChoiceFilter(choices=CertificateStatus.choices, method="filter_status")
    authority = django_filters.ModelChoiceFilter(
        field_name="authority", to_field_name="slug", queryset=CertificateAuthority.objects.all()
    )
    template = django_filters.ModelChoiceFilter(
        field_name="template", to_field_name="name", queryset=CertificateTemplate.objects.all()
    )
    serial = django_filters.CharFilter(field_name="serial", lookup_expr="iexact")
    subject = django_filters.CharFilter(field_name="subject", lookup_expr="icontains")
    fingerprint_sha1 = django_filters.CharFilter(field_name="fingerprint_sha1", lookup_expr="iexact")
    expires_before = django_filters.IsoDateTimeFilter(field_name="not_after", lookup_expr="lt")
    expires_after = django_filters.IsoDateTimeFilter(field_name="not_after", lookup_expr="gte")

    class Meta:
        model = IssuedCertificate
        fields = ["status", "authority", "template", "serial", "subject", "fingerprint_sha1"]

    def filter_status(
        self, queryset: QuerySet[IssuedCertificate], name: str, value: str
    ) -> QuerySet[IssuedCertificate]:
        return queryset.with_status(value)  # type: ignore[attr-defined, no-any-return]


class CertificateRequestFilterSet(django_filters.FilterSet):  # type: ignore[misc]  # django-filter is untyped
    status = django_filters.ChoiceFilter(choices=CertificateRequestStatus.choices)
    authority = django_filters.ModelChoiceFilter(
        field_name="authority", to_field_name="slug", queryset=CertificateAuthority.objects.all()
    )
    template = django_filters.ModelChoiceFilter(
        field_name="template", to_field_name="name", queryset=CertificateTemplate.objects.all()
    )

    class Meta:
        model = CertificateRequest
        fields = ["status", "authority", "template"]
