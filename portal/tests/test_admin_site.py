"""certportal's admin site: the default site, the navigation grouped as the reference's console, and the
certificate list's filters by profile, device and user that profiles attaches to the CA's hook.
"""

from __future__ import annotations

from django.contrib import admin
from django.test import Client
from django.urls import reverse

from ca.models import IssuedCertificate
from portal.admin_site import ADMINISTRATION, NAVIGATION, CertportalAdminSite, NavEntry
from profiles.choices import DeviceCertificateStatus
from profiles.models import DeviceCertificate

GROUPS = [
    "Devices",
    "Users and groups",
    "Certificate profiles",
    "Certificates",
    "Certificate authorities and templates",
    "Connector events",
    "Administration",
]


def _groups(client: Client) -> dict[str, list[str]]:
    response = client.get(reverse("admin:ca_issuedcertificate_changelist"))
    assert response.status_code == 200
    return {
        app["name"]: [model["name"] for model in app["models"]] for app in response.context["available_apps"]
    }


def test_the_default_site_is_certportals():
    assert isinstance(admin.site, CertportalAdminSite)
    assert admin.site.site_header == "certportal"


def test_the_navigation_follows_the_console(admin_client: Client):
    groups = _groups(admin_client)

    assert list(groups) == GROUPS
    assert groups["Devices"][:2] == ["Devices", "Device records"]  # the device page first, then the records
    assert groups["Users and groups"] == ["Users", "Groups"]
    assert "Pending requests" in groups["Certificates"]
    assert "Registration authorities" in groups["Certificate authorities and templates"]
    assert groups["Administration"][:2] == ["Portal accounts", "Roles"]


def test_every_registered_model_is_in_one_group(admin_client: Client):
    response = admin_client.get(reverse("admin:ca_issuedcertificate_changelist"))
    listed = [model["admin_url"] for app in response.context["available_apps"] for model in app["models"]]
    named = {entry.model for _, entries in NAVIGATION for entry in entries if isinstance(entry, NavEntry)}
    unknown = {f"{m._meta.app_label}.{m._meta.model_name}" for m in admin.site._registry} - named
    administration = next(app for app in response.context["available_apps"] if app["name"] == ADMINISTRATION)

    assert len(listed) == len(set(listed)) == len(admin.site._registry) + 1  # + the pending-requests page
    for key in unknown:  # e.g. django-axes' models
        assert any(
            model["admin_url"].startswith(f"/admin/{key.replace('.', '/')}/")
            for model in administration["models"]
        )


def test_a_read_only_user_sees_no_pending_queue(client: Client, user_with_perms):
    reader = user_with_perms("ca.view_issuedcertificate", "ca.view_certificaterequest", username="reader")
    reader.is_staff = True
    reader.save(update_fields=["is_staff"])
    client.force_login(reader)

    groups = _groups(client)

    assert list(groups) == ["Certificates"]
    assert groups["Certificates"] == ["Certificates", "Certificate requests"]


def test_certificates_filter_by_profile_device_and_user(admin_client: Client, issue, assigned, device):
    bound = IssuedCertificate.objects.get(request=issue(common_name="on-the-phone"))
    IssuedCertificate.objects.get(request=issue(common_name="elsewhere"))
    DeviceCertificate.objects.create(device=device, profile=assigned, certificate=bound)
    changelist = reverse("admin:ca_issuedcertificate_changelist")

    for query in (
        {"profile": str(assigned.pk)},
        {"device": "iPhone"},
        {"device": f"#{device.pk}"},
        {"user": "jdoe@corp"},
        {"q": "iPhone-1"},
    ):
        response = admin_client.get(changelist, query)
        assert [c.pk for c in response.context["cl"].result_list] == [bound.pk], query

    page = admin_client.get(reverse("admin:ca_issuedcertificate_change", args=[bound.pk])).content.decode()
    assert "iPhone-1" in page
    assert "jdoe@corp.example.com" in page
    assert assigned.name in page


def test_the_state_on_the_device_is_not_said_twice(admin_client: Client, issue, assigned, device):
    """The device state's reason starts with the state ("revoked: ..."): the page says it once."""
    bound = IssuedCertificate.objects.get(request=issue(common_name="said-once"))
    DeviceCertificate.objects.create(
        device=device,
        profile=assigned,
        certificate=bound,
        status=DeviceCertificateStatus.REVOKED,
        status_reason="revoked: revoked by an administrator (key compromise)",
    )
    other = IssuedCertificate.objects.get(request=issue(common_name="said-with-state"))
    DeviceCertificate.objects.create(
        device=device,
        profile=assigned,
        certificate=other,
        status=DeviceCertificateStatus.SUPERSEDED,
        status_reason="by certificate 0A1B",
    )

    page = admin_client.get(reverse("admin:ca_issuedcertificate_change", args=[bound.pk])).content.decode()
    superseded = admin_client.get(
        reverse("admin:ca_issuedcertificate_change", args=[other.pk])
    ).content.decode()

    assert "Revoked: revoked by an administrator (key compromise)" in page
    assert "Revoked: revoked:" not in page
    assert "Superseded by a newer certificate: by certificate 0A1B" in superseded
