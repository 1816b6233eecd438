"""Admin of profiles: every changelist loads; "create a profile and assign it" works through the admin."""

from __future__ import annotations

import pytest

from django.apps import apps

from ca.models import CertificateTemplate, IssuedCertificate
from directory.models import Platform
from profiles.choices import CertificateState
from profiles.models import (
    DeviceCertificate,
    DeviceChallenge,
    ProfileAssignment,
    ScepProfile,
    TrustedRootProfile,
)
from profiles.services.checkin import device_checkin
from profiles.services.states import device_state_set
from profiles.tests.fixtures import SCEP_URL, assign

#: Model -> rows ``populated`` creates.
MODELS = {
    "trustedrootprofile": 1,
    "scepprofile": 1,
    "profileassignment": 2,
    "devicecertificatestate": 1,
    "devicechallenge": 1,
    "devicecertificate": 1,
}


@pytest.fixture
def populated(scep_profile, root_profile, user_group, device, issue):
    """One row of every profiles model."""
    assign(scep_profile, user_group)
    assign(root_profile, user_group)
    device_checkin(device=device)
    certificate = IssuedCertificate.objects.get(request=issue(common_name="jdoe"))
    DeviceCertificate.objects.create(device=device, profile=scep_profile, certificate=certificate)
    device_state_set(
        device=device, profile=scep_profile, state=CertificateState.ISSUED, certificate=certificate
    )


@pytest.mark.parametrize(("model", "rows"), MODELS.items())
def test_changelist_loads(admin_client, populated, model, rows):
    response = admin_client.get(f"/admin/profiles/{model}/")
    assert response.status_code == 200
    assert response.context["cl"].result_count == rows


@pytest.mark.parametrize("model", MODELS)
def test_change_page_loads(admin_client, populated, model):
    obj = apps.get_model("profiles", model).objects.first()
    response = admin_client.get(f"/admin/profiles/{model}/{obj.pk}/change/")
    assert response.status_code == 200


def test_the_challenge_secret_digest_is_not_shown(admin_client, populated):
    challenge = DeviceChallenge.objects.get()
    response = admin_client.get(f"/admin/profiles/devicechallenge/{challenge.pk}/change/")
    assert challenge.secret_digest.encode() not in response.content


def profile_form(pki, root_profile, **changes: str) -> dict[str, str]:
    data = {
        "name": "iOS user certificate",
        "description": "",
        "platform": Platform.IOS,
        "certificate_type": "user",
        "subject_name_format": "custom",
        "subject_name_format_string": "CN={{UserName}}",
        "subject_alternative_names__type": "upn",
        "subject_alternative_names__value": "{{UserPrincipalName}}",
        "validity_value": "",
        "validity_scale": "",
        "key_storage_provider": "",
        "key_usage_digital_signature": "on",
        "key_usage_key_encipherment": "on",
        "key_size": "2048",
        "extended_key_usages__eku": "1.3.6.1.5.5.7.3.2",
        "extended_key_usages__name": "",
        "extended_key_usages__oid": "",
        "root_profile": str(root_profile.pk),
        "authority": str(pki.issuing.pk),
        "template": str(pki.template.pk),
        "renewal_threshold_percentage": "20",
        "scep_server_urls__url": SCEP_URL,
        "revoke_on_removal": "on",
        "revoke_on_change": "on",
        "revoke_superseded": "on",
        "assignments-TOTAL_FORMS": "0",
        "assignments-INITIAL_FORMS": "0",
        "assignments-MIN_NUM_FORMS": "0",
        "assignments-MAX_NUM_FORMS": "1000",
    }
    data.update(changes)
    return data


def inline_assignment(group, index: int = 0, total: int = 1, initial: int = 0) -> dict[str, str]:
    return {
        "assignments-TOTAL_FORMS": str(total),
        "assignments-INITIAL_FORMS": str(initial),
        f"assignments-{index}-intent": "include",
        f"assignments-{index}-target": "group",
        f"assignments-{index}-group": str(group.pk),
    }


def form_errors(response) -> list[object]:
    if response.context is None:
        return []
    return [
        response.context["adminform"].form.errors,
        *[form.errors for formset in response.context["inline_admin_formsets"] for form in formset.formset],
    ]


def test_create_a_scep_profile_and_assign_it_in_one_step(admin_client, pki, root_profile, user_group):
    response = admin_client.post(
        "/admin/profiles/scepprofile/add/", profile_form(pki, root_profile, **inline_assignment(user_group))
    )

    assert response.status_code == 302, form_errors(response)
    profile = ScepProfile.objects.get()
    assert (profile.name, profile.version, profile.subject_name_format_string) == (
        "iOS user certificate",
        1,
        "CN={{UserName}}",
    )
    assignment = ProfileAssignment.objects.get()
    assert (assignment.scep_profile, assignment.group, assignment.intent) == (profile, user_group, "include")


def test_create_a_scep_profile_then_assign_it(admin_client, pki, root_profile, user_group):
    created = admin_client.post("/admin/profiles/scepprofile/add/", profile_form(pki, root_profile))
    assert created.status_code == 302, form_errors(created)
    profile = ScepProfile.objects.get()

    changed = admin_client.post(
        f"/admin/profiles/scepprofile/{profile.pk}/change/",
        profile_form(pki, root_profile, **inline_assignment(user_group)),
    )

    assert changed.status_code == 302, form_errors(changed)
    assignment = ProfileAssignment.objects.get()
    assert (assignment.scep_profile, assignment.group, assignment.intent) == (profile, user_group, "include")
    profile.refresh_from_db()
    assert (profile.name, profile.subject_name_format_string) == ("iOS user certificate", "CN={{UserName}}")


def test_an_invalid_scep_profile_shows_the_field_error(admin_client, pki, root_profile):
    response = admin_client.post(
        "/admin/profiles/scepprofile/add/",
        profile_form(pki, root_profile, subject_name_format_string="CN={{Nope}}"),
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {
        "subject_name_format_string": ["unknown variable {{Nope}} in the CN value"]
    }
    assert not ScepProfile.objects.exists()


def test_create_a_trusted_root_profile_from_one_of_our_cas(admin_client, pki, user_group):
    response = admin_client.post(
        "/admin/profiles/trustedrootprofile/add/",
        {
            "name": "Root (iOS)",
            "description": "",
            "platform": Platform.IOS,
            "authority": str(pki.root.pk),
            "certificate_file_name": "",
            "destination_store": "",
            "assignments-TOTAL_FORMS": "1",
            "assignments-INITIAL_FORMS": "0",
            "assignments-0-intent": "include",
            "assignments-0-target": "group",
            "assignments-0-group": str(user_group.pk),
        },
    )

    assert response.status_code == 302
    profile = TrustedRootProfile.objects.get()
    assert profile.thumbprint_sha1 == pki.root.fingerprint_sha1
    assert ProfileAssignment.objects.get().trusted_root_profile == profile


def test_the_same_root_twice_for_a_platform_is_a_form_error_not_a_500(admin_client, pki):
    data = {
        "name": "Root (iOS)",
        "description": "",
        "platform": Platform.IOS,
        "authority": str(pki.root.pk),
        "certificate_file_name": "",
        "destination_store": "",
        "assignments-TOTAL_FORMS": "0",
        "assignments-INITIAL_FORMS": "0",
    }
    assert admin_client.post("/admin/profiles/trustedrootprofile/add/", data).status_code == 302

    again = admin_client.post("/admin/profiles/trustedrootprofile/add/", {**data, "name": "Root again"})

    assert again.status_code == 200
    assert again.context["adminform"].form.errors == {
        "__all__": ["Trusted certificate profile with this Platform and Thumbprint sha1 already exists."]
    }
    assert TrustedRootProfile.objects.count() == 1


def test_changing_a_scep_profile_in_the_admin_bumps_its_version(
    admin_client, pki, root_profile, scep_profile
):
    response = admin_client.post(
        f"/admin/profiles/scepprofile/{scep_profile.pk}/change/",
        profile_form(pki, root_profile, name=scep_profile.name, key_size="4096"),
    )

    assert response.status_code == 302, form_errors(response)
    scep_profile.refresh_from_db()
    assert (scep_profile.key_size, scep_profile.version) == (4096, 2)


def test_a_rule_on_the_template_shows_the_field_error(admin_client, pki, root_profile):
    response = admin_client.post(
        "/admin/profiles/scepprofile/add/", profile_form(pki, root_profile, key_size="1024")
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {
        "key_size": ["template TestClientAuth requires RSA keys of at least 2048 bits"]
    }
    assert not ScepProfile.objects.exists()


def test_changing_to_a_template_the_ca_does_not_issue_shows_the_field_error(
    admin_client, pki, root_profile, scep_profile
):
    unpublished = CertificateTemplate.objects.create(name="Unpublished", display_name="Not on the CA")
    response = admin_client.post(
        f"/admin/profiles/scepprofile/{scep_profile.pk}/change/",
        profile_form(pki, root_profile, name=scep_profile.name, template=str(unpublished.pk)),
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {
        "template": ["CA Test Issuing CA does not issue template Unpublished"]
    }
    scep_profile.refresh_from_db()
    assert (scep_profile.template_id, scep_profile.version) == (pki.template.pk, 1)


def test_saving_a_scep_profile_unchanged_in_the_admin_keeps_its_version(
    admin_client, pki, root_profile, scep_profile
):
    response = admin_client.post(
        f"/admin/profiles/scepprofile/{scep_profile.pk}/change/",
        profile_form(
            pki,
            root_profile,
            name=scep_profile.name,
            subject_name_format_string=scep_profile.subject_name_format_string,
        ),
    )

    assert response.status_code == 302, form_errors(response)
    scep_profile.refresh_from_db()
    assert scep_profile.version == 1


def test_changing_a_trusted_root_profile_in_the_admin_bumps_its_version(admin_client, pki, root_profile):
    response = admin_client.post(
        f"/admin/profiles/trustedrootprofile/{root_profile.pk}/change/",
        {
            "name": root_profile.name,
            "description": "the corporate root",
            "platform": Platform.IOS,
            "authority": str(pki.root.pk),
            "certificate_file_name": root_profile.certificate_file_name,
            "destination_store": "",
            "assignments-TOTAL_FORMS": "0",
            "assignments-INITIAL_FORMS": "0",
        },
    )

    assert response.status_code == 302, form_errors(response)
    root_profile.refresh_from_db()
    assert (root_profile.description, root_profile.version) == ("the corporate root", 2)
    assert root_profile.thumbprint_sha1 == pki.root.fingerprint_sha1
