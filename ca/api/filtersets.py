from __future__ import annotations

import datetime as dt

import django_filters
from django import forms
from django.db.models import QuerySet
from django.utils import timezone

from ca.choices import CertificateRequestStatus, CertificateStatus
from ca.models import CertificateAuthority, CertificateRequest, CertificateTemplate, IssuedCertificate

__all__ = ["CertificateRequestFilterSet", "IssuedCertificateFilterSet"]

#: The longest ``expiring_within_days`` accepted (a hundred years).
EXPIRING_WITHIN_DAYS_MAX = 36500


class _IntegerFilter(django_filters.NumberFilter):  # type: ignore[misc]  # django-filter is untyped
    """A whole number (NumberFilter's own field is a decimal)."""

    field_class = forms.IntegerField


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
    expiring_before = django_filters.IsoDateTimeFilter(
        method="filter_expiring_before",
        help_text="Certificates not expired yet whose notAfter is before this ISO 8601 date-time "
        "(unlike expires_before, which includes expired ones). Add status=issued to leave out revoked ones.",
    )
    expiring_within_days = _IntegerFilter(
        method="filter_expiring_within_days",
        min_value=0,
        max_value=EXPIRING_WITHIN_DAYS_MAX,
        help_text="Certificates not expired yet whose notAfter is at most this many days from now "
        f"(0 to {EXPIRING_WITHIN_DAYS_MAX}). Add status=issued to leave out revoked ones.",
    )

    class Meta:
        model = IssuedCertificate
        fields = ["status", "authority", "template", "serial", "subject", "fingerprint_sha1"]

    #: The filters on notAfter. With one of them the list is ordered by notAfter (unless ``ordering`` says
    #: otherwise): the certificates near a notAfter bound have neighbouring notBefore values at the far end
    #: of the default order (the validity is fixed), which the database would otherwise walk to find them.
    EXPIRY_FILTERS = ("expires_before", "expires_after", "expiring_before", "expiring_within_days")

    def filter_queryset(self, queryset: QuerySet[IssuedCertificate]) -> QuerySet[IssuedCertificate]:
        queryset = super().filter_queryset(queryset)
        if any(self.form.cleaned_data.get(name) is not None for name in self.EXPIRY_FILTERS):
            queryset = queryset.order_by("not_after", "pk")
        return queryset

    def filter_status(
        self, queryset: QuerySet[IssuedCertificate], name: str, value: str
    ) -> QuerySet[IssuedCertificate]:
        return queryset.with_status(value)  # type: ignore[attr-defined, no-any-return]

    def filter_expiring_before(
        self, queryset: QuerySet[IssuedCertificate], name: str, value: dt.datetime
    ) -> QuerySet[IssuedCertificate]:
        return queryset.filter(not_after__gt=timezone.now(), not_after__lt=value)

    def filter_expiring_within_days(
        self, queryset: QuerySet[IssuedCertificate], name: str, value: int
    ) -> QuerySet[IssuedCertificate]:
        now = timezone.now()
        return queryset.filter(not_after__gt=now, not_after__lte=now + dt.timedelta(days=value))


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
