"""What profiles adds to the CA's certificate pages (``ca.admin_hooks``): filters by profile, device and
user, search by device name and UPN, the device and profile a certificate was issued for, and CSV columns.

The CA knows none of this (``ca`` imports no app above it); the project attaches it when the admin starts
(``portal.apps.CertportalAdminConfig.ready``) by calling ``certificate_admin_extend``.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.urls import reverse

from ca.admin_hooks import RelatedLink, certificate_admin_extensions
from ca.models import IssuedCertificate
from core.admin_lists import InputFilter
from profiles.models import DeviceCertificate, ScepProfile

__all__ = [
    "CertificateDeviceFilter",
    "CertificateProfileFilter",
    "CertificateUserFilter",
    "certificate_admin_extend",
]


class CertificateProfileFilter(admin.SimpleListFilter):
    title = "profile"
    parameter_name = "profile"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [
            (str(pk), name) for pk, name in ScepProfile.objects.order_by("name").values_list("pk", "name")
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        if not value:
            return queryset
        return queryset.filter(device_binding__profile_id=value) if value.isdigit() else queryset.none()


class CertificateDeviceFilter(InputFilter):
    """A device by its name, Intune device ID or serial number (exact id: ``#<pk>``)."""

    title = "device"
    parameter_name = "device"
    placeholder = "device name or ID"

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = (self.value() or "").strip()
        if not value:
            return queryset
        if value.startswith("#") and value[1:].isdigit():
            return queryset.filter(device_binding__device_id=int(value[1:]))
        return queryset.filter(
            Q(device_binding__device__name__icontains=value)
            | Q(device_binding__device__external_id=value)
            | Q(device_binding__device__serial_number=value)
        )


class CertificateUserFilter(InputFilter):
    """The device's primary user, by UPN (part of it)."""

    title = "user"
    parameter_name = "user"
    placeholder = "user principal name"

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = (self.value() or "").strip()
        if not value:
            return queryset
        return queryset.filter(device_binding__device__primary_user__user_principal_name__icontains=value)


def _binding(certificate: IssuedCertificate) -> DeviceCertificate | None:
    try:
        return certificate.device_binding
    except ObjectDoesNotExist:
        return None


def certificate_related(certificate: IssuedCertificate) -> list[RelatedLink]:
    """The device, its user and the profile a certificate was issued for, with its state on the device."""
    binding = _binding(certificate)
    if binding is None:
        return []
    device = binding.device
    links = [
        RelatedLink("Device", str(device), reverse("admin:directory_device_change", args=[device.pk])),
    ]
    if device.primary_user is not None:
        user = device.primary_user
        links.append(
            RelatedLink(
                "User",
                user.user_principal_name,
                reverse("admin:directory_directoryuser_change", args=[user.pk]),
            )
        )
    if binding.profile is not None:
        links.append(
            RelatedLink(
                "Profile",
                binding.profile.name,
                reverse("admin:profiles_scepprofile_change", args=[binding.profile_id]),
            )
        )
    state = binding.get_status_display()
    if binding.status_reason:
        # A reason that starts with the state ("revoked: ...") says it already: not "Revoked: revoked: ...".
        said = binding.status_reason.lower().startswith(f"{state.lower()}:")
        state = (
            binding.status_reason[:1].upper() + binding.status_reason[1:]
            if said
            else f"{state}: {binding.status_reason}"
        )
    links.append(RelatedLink("State on the device", state))
    return links


def _device_name(certificate: IssuedCertificate) -> str:
    binding = _binding(certificate)
    return binding.device.name if binding is not None else ""


def _user(certificate: IssuedCertificate) -> str:
    binding = _binding(certificate)
    user = binding.device.primary_user if binding is not None else None
    return user.user_principal_name if user is not None else ""


def _profile(certificate: IssuedCertificate) -> str:
    binding = _binding(certificate)
    return binding.profile.name if binding is not None and binding.profile is not None else ""


def certificate_admin_extend() -> None:
    """Attach profiles' filters, search fields, links and columns to the CA's certificate pages."""
    certificate_admin_extensions.register(
        list_filters=[CertificateProfileFilter, CertificateDeviceFilter, CertificateUserFilter],
        search_fields=[
            "device_binding__device__name",
            "device_binding__device__primary_user__user_principal_name",
        ],
        related=certificate_related,
        csv_columns=[("device", _device_name), ("user", _user), ("profile", _profile)],
        select_related=[
            "device_binding__device__primary_user",
            "device_binding__profile",
        ],
    )
