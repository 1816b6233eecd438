"""The profile editor's live preview (an admin view, POSTed by htmx as the admin types).

It validates the posted form with the editor's own form class (the errors saving would show, next to the
same fields), then renders the subject and SANs for the user or device the admin picked with
:func:`profiles.services.checkin.scep_profile_render`, the code a device's check-in runs: what the
preview shows is what the device would be asked to request. It also counts the devices the posted
assignments reach. Nothing is saved.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.template.response import TemplateResponse

from ca.crypto.names import general_name_to_text
from directory.models import Device, DeviceState, DirectoryUser, Platform
from profiles.admin_selectors import (
    AssignmentRow,
    ScopeSummary,
    assignment_scope_summary,
    preview_devices,
)
from profiles.choices import AssignmentIntent, AssignmentTarget
from profiles.exports.x500 import x500_subject_string
from profiles.forms import LIVE_FIELDS
from profiles.models import ScepProfile
from profiles.naming.variables import RenderError
from profiles.services.checkin import scep_profile_render
from profiles.widgets import live_errors_id

__all__ = ["Preview", "posted_assignment_rows", "profile_preview_view"]

#: The fields whose errors keep the subject and SANs from being rendered.
_NAMING_FIELDS = ("subject_name_format", "subject_name_format_string", "subject_alternative_names")
ASSIGNMENTS_PREFIX = "assignments"


@dataclass
class Preview:
    rendered_for: str = ""
    subject: str = ""
    sans: list[str] = field(default_factory=list)
    problem: str = ""
    blocked: bool = False
    scope: ScopeSummary | None = None
    platform_label: str = ""
    live_errors: list[tuple[str, list[str]]] = field(default_factory=list)


def posted_assignment_rows(data: Any, prefix: str = ASSIGNMENTS_PREFIX) -> list[AssignmentRow]:
    """The assignment rows of the posted inline formset, those marked for deletion left out."""
    try:
        total = min(int(data.get(f"{prefix}-TOTAL_FORMS", 0)), 1000)
    except (TypeError, ValueError):
        return []
    rows: list[AssignmentRow] = []
    for index in range(total):
        key = f"{prefix}-{index}-"
        if data.get(key + "DELETE"):
            continue
        target = data.get(key + "target") or AssignmentTarget.GROUP
        intent = data.get(key + "intent") or AssignmentIntent.INCLUDE
        group = data.get(key + "group") or ""
        group_id = int(group) if group.isdigit() else None
        if target not in AssignmentTarget.values or intent not in AssignmentIntent.values:
            continue
        rows.append(AssignmentRow(intent=intent, target=target, group_id=group_id))
    return rows


def _pick(value: str, platform: str) -> tuple[Device | None, str]:
    """The device to render for, and how to name it: a device, a user's device of the platform (or, for a
    user without one, a device that has only that user), or the first device of the platform.
    """
    kind, _, pk = value.partition(":")
    if kind == "device" and pk.isdigit():
        device = Device.objects.select_related("primary_user").filter(pk=int(pk)).first()
        if device is not None:
            return device, f"device {device.name}"
    if kind == "user" and pk.isdigit():
        user = DirectoryUser.objects.filter(pk=int(pk)).first()
        if user is not None:
            device = (
                Device.objects.select_related("primary_user")
                .filter(primary_user=user, state=DeviceState.ACTIVE, platform=platform)
                .order_by("name")
                .first()
            )
            if device is not None:
                return device, f"{user.user_principal_name} on {device.name}"
            label = Platform(platform).label if platform in Platform.values else "this platform"
            return (
                Device(name="", platform=platform, primary_user=user),
                f"{user.user_principal_name} (no {label} device: device variables have no value)",
            )
    devices = preview_devices(platform=platform, limit=1)
    if devices:
        device = devices[0]
        return device, f"device {device.name}"
    return None, ""


def _scep_preview(request: HttpRequest, form: Any, preview: Preview) -> None:
    profile: ScepProfile = form.instance
    errors = form.errors
    preview.live_errors = [(name, list(errors.get(name, []))) for name in LIVE_FIELDS]
    if any(name in errors for name in _NAMING_FIELDS):
        preview.blocked = True
        return
    device, preview.rendered_for = _pick(request.POST.get("_preview_for", ""), profile.platform)
    if device is None:
        preview.problem = "There is no device or user to preview with yet."
        return
    try:
        rendered = scep_profile_render(profile=profile, device=device)
        preview.subject = x500_subject_string(rendered.subject) or "(empty subject)"
    except RenderError as exc:
        preview.problem = str(exc)
        return
    preview.sans = [general_name_to_text(name) for name in rendered.sans]


def profile_preview_view(
    request: HttpRequest, *, model_admin: admin.ModelAdmin[Any], object_id: str | None = None
) -> HttpResponse:
    """POST the editor's form: its live errors, the rendered subject and SANs (SCEP), the devices in scope."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    obj = model_admin.get_object(request, object_id) if object_id is not None else None
    if object_id is not None and obj is None:
        raise PermissionDenied
    allowed = (
        model_admin.has_change_permission(request, obj)
        if obj is not None
        else model_admin.has_add_permission(request)
    )
    if not allowed:
        raise PermissionDenied
    form_class = model_admin.get_form(request, obj, change=obj is not None)
    form = form_class(request.POST, request.FILES, instance=obj or model_admin.model())
    form.is_valid()
    platform = str(form.cleaned_data.get("platform") or getattr(form.instance, "platform", "") or "")
    preview = Preview(
        scope=assignment_scope_summary(platform=platform, rows=posted_assignment_rows(request.POST)),
        platform_label=str(Platform(platform).label) if platform in Platform.values else "",
    )
    if isinstance(form.instance, ScepProfile):
        _scep_preview(request, form, preview)
    context = {
        "preview": preview,
        "is_scep": isinstance(form.instance, ScepProfile),
        "live_errors": [(live_errors_id(name), messages) for name, messages in preview.live_errors],
    }
    return TemplateResponse(request, "admin/profiles/preview.html", context)
