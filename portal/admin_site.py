"""certportal's admin site: the default site, its navigation grouped as the reference's console groups its
blades, and the dashboard as its index.

The grouping is one table (``NAVIGATION``): every registered model lands in the group that names it, or in
Administration. Entries that are pages rather than models (the pending-requests queue) name a URL and the
permission that shows them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, reverse
from django.utils.text import slugify

from portal.dashboard import dashboard_context

__all__ = ["NAVIGATION", "CertportalAdminSite", "NavEntry", "NavPage"]


@dataclass(frozen=True)
class NavEntry:
    """A registered model, shown under ``label`` (None: its verbose_name_plural)."""

    model: str  # "app_label.model_name"
    label: str | None = None


@dataclass(frozen=True)
class NavPage:
    """A page of the admin that is not a model's list, shown to those holding ``permission``."""

    url_name: str
    label: str
    permission: str


ADMINISTRATION = "Administration"

#: The console's groups, in its order; within a group, the entries in this order.
NAVIGATION: tuple[tuple[str, tuple[NavEntry | NavPage, ...]], ...] = (
    (
        "Devices",
        (
            NavEntry("profiles.manageddevice", "Devices"),  # the device page: profiles, certificates, actions
            NavEntry("directory.device", "Device records"),  # the directory's attributes, edited
            NavEntry("profiles.devicecertificatestate", "Device certificate states"),
            NavEntry("profiles.devicechallenge", "Device challenges"),
            NavEntry("directory.importjob", "Imports"),
        ),
    ),
    (
        "Users and groups",
        (NavEntry("directory.directoryuser", "Users"), NavEntry("directory.group", "Groups")),
    ),
    (
        "Certificate profiles",
        (
            NavEntry("profiles.scepprofile", "SCEP certificate profiles"),
            NavEntry("profiles.pkcsprofile", "PKCS certificate profiles"),
            NavEntry("profiles.trustedrootprofile", "Trusted certificate profiles"),
            NavEntry("profiles.resourceprofile", "Wi-Fi, VPN and email profiles"),
            NavEntry("profiles.profileassignment", "Assignments"),
        ),
    ),
    (
        "Certificates",
        (
            NavEntry("ca.issuedcertificate", "Certificates"),
            NavPage(
                "admin:ca_certificaterequest_pending", "Pending requests", "ca.approve_certificaterequest"
            ),
            NavEntry("ca.certificaterequest", "Certificate requests"),
            NavEntry("ca.pkcsrequest", "PKCS requests"),
            NavEntry("profiles.devicecertificate", "Device certificates"),
            NavEntry("ca.revocationrequest", "Revocation requests"),
            NavEntry("enrollment.sceptransaction", "SCEP transactions"),
        ),
    ),
    (
        "Certificate authorities and templates",
        (
            NavEntry("ca.certificateauthority", "Certificate authorities"),
            NavEntry("ca.certificatetemplate", "Certificate templates"),
            NavEntry("ca.certificaterevocationlist", "CRLs"),
            NavEntry("ca.authorityrollover", "CA rollovers"),
            NavEntry("ca.ocspresponder", "OCSP responders"),
            NavEntry("enrollment.scepservice", "SCEP services (NDES)"),
            NavEntry("enrollment.registrationauthority", "Registration authorities"),
        ),
    ),
    (
        "Connector events",
        (
            NavEntry("eventlog.connectorevent", "Connector events"),
            NavEntry("notifications.sentnotice", "Notices sent"),
        ),
    ),
    (
        ADMINISTRATION,
        (
            NavEntry("auth.user", "Portal accounts"),
            NavEntry("auth.group", "Roles"),
            NavEntry("access.apitoken", "API tokens"),
            NavEntry("audit.auditentry", "Audit log"),
        ),
    ),
)


class CertportalAdminSite(admin.AdminSite):
    site_header = "certportal"
    site_title = "certportal"
    index_title = "Dashboard"
    index_template = "admin/dashboard.html"
    site_url = None  # "/" is this dashboard: no "view site" link

    def get_app_list(self, request: HttpRequest, app_label: str | None = None) -> list[dict[str, Any]]:
        """The console's groups (an app's own page keeps Django's list of that app)."""
        if app_label is not None:
            return super().get_app_list(request, app_label)
        models: dict[str, dict[str, Any]] = {}
        for app in self._build_app_dict(request).values():
            for model in app["models"]:
                models[f"{app['app_label']}.{model['object_name'].lower()}"] = model
        groups: list[dict[str, Any]] = []
        placed: set[str] = set()
        for title, entries in NAVIGATION:
            items = []
            for entry in entries:
                if isinstance(entry, NavPage):
                    page = _page_item(request, entry)
                    if page is not None:
                        items.append(page)
                    continue
                placed.add(entry.model)
                model = models.get(entry.model)
                if model is not None:
                    items.append({**model, "name": entry.label or model["name"]})
            if title == ADMINISTRATION:
                items.extend(model for key, model in sorted(models.items()) if key not in placed)
            if items:
                groups.append(_group(title, items))
        _mark_current(request.path, groups)
        return groups

    def index(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> TemplateResponse:
        """The dashboard: counts for every staff user, certificate details for those who may read them."""
        context = {
            **self.each_context(request),
            "title": self.index_title,
            "subtitle": None,
            **dashboard_context(request.user),
            **(extra_context or {}),
        }
        request.current_app = self.name
        return TemplateResponse(request, self.index_template or "admin/index.html", context)


def _page_item(request: HttpRequest, page: NavPage) -> dict[str, Any] | None:
    if not request.user.has_perm(page.permission):
        return None
    try:
        url = reverse(page.url_name)
    except NoReverseMatch:
        return None
    return {"name": page.label, "object_name": slugify(page.label), "admin_url": url, "add_url": None}


def _mark_current(path: str, groups: list[dict[str, Any]]) -> None:
    """The one entry the page belongs to: the longest URL that starts the path (the pending-requests page
    is under the requests' list).
    """
    items = [item for group in groups for item in group["models"]]
    matches = [item for item in items if item.get("admin_url") and path.startswith(item["admin_url"])]
    best = max(matches, key=lambda item: len(item["admin_url"]), default=None)
    for item in items:
        item["current"] = item is best


def _group(title: str, items: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "name": title,
        "app_label": slugify(title),
        "app_url": None,
        "has_module_perms": True,
        "models": items,
    }
