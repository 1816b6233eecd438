"""A SCEP profile's device status page (Intune's "Device status"): each device in scope and where it stands
for the profile (succeeded, pending, failed with the reason, not applicable, revoked, renewal due, ...),
filterable by status and searchable, and exported as CSV with the same filters. Reads only.
"""

from __future__ import annotations

import csv
from typing import Any, Final

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from eventlog.catalogue import diagnostic_display
from profiles.admin_selectors import STATUS_GROUPS, DeviceStatusRow, device_status_rows
from profiles.models import ScepProfile

__all__ = ["STATUS_PERMISSION", "csv_safe", "device_status_view"]

#: Besides seeing the profile: the devices' certificate states.
STATUS_PERMISSION: Final = "profiles.view_devicecertificatestate"
PAGE_SIZE: Final = 100
_CSV_COLUMNS: Final = (
    "device", "intune_device_id", "platform", "user", "status", "state", "reason", "diagnostic_code",
    "certificate_serial", "certificate_expires", "state_changed_at",
)  # fmt: skip


def csv_safe(value: object) -> str:
    """A cell a spreadsheet shows as text: device-supplied names must not become formulas."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _csv(profile: ScepProfile, rows: list[DeviceStatusRow]) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="device-status-{profile.pk}-{stamp}.csv"'
    writer = csv.writer(response)
    writer.writerow(_CSV_COLUMNS)
    for row in rows:
        user = row.device.primary_user
        writer.writerow(
            [
                csv_safe(value)
                for value in (
                    row.device.name,
                    row.device.external_id,
                    row.device.get_platform_display(),
                    user.user_principal_name if user is not None else "",
                    STATUS_GROUPS[row.group][0] if row.group in STATUS_GROUPS else "",
                    row.state_label,
                    row.reason,
                    diagnostic_display(row.diagnostic_code),
                    row.certificate_serial,
                    row.certificate_not_after.isoformat() if row.certificate_not_after else "",
                    row.state_changed_at.isoformat() if row.state_changed_at else "",
                )
            ]
        )
    return response


def _link(name: str, pk: int | None) -> str:
    if pk is None:
        return ""
    try:
        return reverse(name, args=[pk])
    except NoReverseMatch:
        return ""


def device_status_view(
    request: HttpRequest, *, model_admin: admin.ModelAdmin[Any], object_id: str
) -> HttpResponse:
    profile = model_admin.get_object(request, object_id)
    if profile is None or not model_admin.has_view_permission(request, profile):
        raise PermissionDenied
    if not request.user.has_perm(STATUS_PERMISSION):
        raise PermissionDenied
    search = request.GET.get("q", "").strip()[:200]
    status = request.GET.get("status", "")
    if status not in STATUS_GROUPS:
        status = ""
    rows = device_status_rows(profile=profile, search=search)
    counts = dict.fromkeys(STATUS_GROUPS, 0)
    for row in rows:
        counts[row.group] = counts.get(row.group, 0) + 1
    shown = [row for row in rows if row.group == status] if status else rows
    if request.GET.get("export") == "csv":
        return _csv(profile, shown)
    page = Paginator(shown, PAGE_SIZE).get_page(request.GET.get("page"))
    query = {key: value for key, value in (("q", search), ("status", status)) if value}
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.model._meta,
        "title": f"Device status: {profile.name}",
        "profile": profile,
        "page": page,
        "rows": [
            {
                "row": row,
                "device_url": _link("admin:profiles_manageddevice_change", row.device.pk),
                "certificate_url": _link("admin:ca_issuedcertificate_change", row.certificate_id),
                "diagnostic": diagnostic_display(row.diagnostic_code),
            }
            for row in page.object_list
        ],
        "tiles": [
            {"key": key, "label": label, "count": counts[key], "selected": key == status}
            for key, (label, _states) in STATUS_GROUPS.items()
        ],
        "total": len(rows),
        "search": search,
        "status": status,
        "query": query,
        "change_url": reverse("admin:profiles_scepprofile_change", args=[profile.pk]),
    }
    return TemplateResponse(request, "admin/profiles/scepprofile/device_status.html", context)
