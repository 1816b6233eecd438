"""Admin of the PKCS and resource profiles: the pages load, a Wi-Fi profile is created and assigned through
the admin (the services' rules on its fields), the PKCS requests are read only and never show the PKCS#12.
"""

from __future__ import annotations

import pytest

from ca.models import PkcsRequest
from profiles.choices import ResourceKind
from profiles.models import PkcsProfile, ProfileAssignment, ResourceProfile
from profiles.services.resources import pkcs_profile_create, resource_profile_create
from profiles.tests.fixtures import profile_fields


@pytest.fixture
def pkcs_profile(pki, root_profile) -> PkcsProfile:
    fields = profile_fields(pki, root_profile, name="iOS PKCS")
    fields.pop("scep_server_urls")
    return pkcs_profile_create(**fields)


def wifi_form(identity, root, **changes: str) -> dict[str, str]:
    data = {
        "name": "Corp Wi-Fi",
        "description": "",
        "kind": ResourceKind.WIFI,
        "platform": identity.platform,
        "identity_profile": str(identity.pk),
        "server_root_profile": str(root.pk),
        "ssid": "CORP",
        "wifi_security": "wpa2_enterprise",
        "auto_join": "on",
        "server_certificate_names": '["radius.corp.example.com"]',
        "remote_address": "",
        "remote_identifier": "",
        "local_identifier": "{{UserPrincipalName}}",
        "exchange_host": "",
        "email_address_attribute": "",
        "assignments-TOTAL_FORMS": "0",
        "assignments-INITIAL_FORMS": "0",
        "assignments-MIN_NUM_FORMS": "0",
        "assignments-MAX_NUM_FORMS": "1000",
    }
    data.update(changes)
    return data


def test_the_pages_load(admin_client, pkcs_profile, scep_profile, root_profile):
    resource_profile_create(
        name="Mail",
        kind=ResourceKind.EMAIL,
        platform=pkcs_profile.platform,
        identity_profile=pkcs_profile,
        exchange_host="mail.example",
        email_address_attribute="upn",
    )
    for url in ("/admin/profiles/pkcsprofile/", "/admin/profiles/resourceprofile/", "/admin/ca/pkcsrequest/"):
        assert admin_client.get(url).status_code == 200, url
    assert admin_client.get(f"/admin/profiles/pkcsprofile/{pkcs_profile.pk}/change/").status_code == 200
    resource = ResourceProfile.objects.get()
    assert admin_client.get(f"/admin/profiles/resourceprofile/{resource.pk}/change/").status_code == 200
    scep_list = admin_client.get("/admin/profiles/scepprofile/")
    assert scep_list.context["cl"].result_count == 1  # the PKCS profile is not a SCEP profile


def test_a_wifi_profile_is_created_and_assigned_in_the_admin(
    admin_client, scep_profile, root_profile, user_group
):
    data = wifi_form(scep_profile, root_profile)
    data.update(
        {
            "assignments-TOTAL_FORMS": "1",
            "assignments-0-intent": "include",
            "assignments-0-target": "group",
            "assignments-0-group": str(user_group.pk),
        }
    )

    response = admin_client.post("/admin/profiles/resourceprofile/add/", data)

    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    profile = ResourceProfile.objects.get()
    assert (profile.ssid, profile.server_certificate_names) == ("CORP", ["radius.corp.example.com"])
    assert ProfileAssignment.objects.filter(resource_profile=profile, group=user_group).exists()


def test_a_wifi_profile_without_server_names_is_refused_on_the_field(
    admin_client, scep_profile, root_profile
):
    response = admin_client.post(
        "/admin/profiles/resourceprofile/add/",
        wifi_form(scep_profile, root_profile, server_certificate_names="[]"),
    )

    assert response.status_code == 200
    assert "server_certificate_names" in response.context["adminform"].form.errors
    assert not ResourceProfile.objects.exists()


def test_pkcs_requests_are_read_only(admin_client, db):
    response = admin_client.get("/admin/ca/pkcsrequest/add/")
    assert response.status_code == 403
    assert not PkcsRequest.objects.exists()
