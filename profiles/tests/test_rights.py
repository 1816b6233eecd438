"""Rights that follow the effect, not the model touched: a profile change that would revoke certificates
needs the revoke right; a profile that names a fixed identity needs the certificate manager's right.
"""

from __future__ import annotations

import pytest

from django.test import TestCase

from ca.models import IssuedCertificate, RevocationRequest
from eventlog.choices import DiagnosticCode, EventId
from eventlog.models import ConnectorEvent
from profiles.choices import CertificateState
from profiles.models import DeviceCertificateState, DeviceChallenge, ProfileAssignment, ScepProfile
from profiles.services.checkin import device_checkin
from profiles.services.profiles import scep_profile_update
from profiles.services.states import device_enrollment_succeeded
from profiles.tests.fixtures import profile_fields

PROFILE_MANAGER = (
    "profiles.view_scepprofile",
    "profiles.add_scepprofile",
    "profiles.change_scepprofile",
    "profiles.delete_scepprofile",
    "profiles.view_profileassignment",
    "profiles.add_profileassignment",
    "profiles.delete_profileassignment",
)


@pytest.fixture
def enrolled(assigned, device, issue) -> IssuedCertificate:
    certificate = IssuedCertificate.objects.get(request=issue(common_name="jdoe"))
    device_enrollment_succeeded(device=device, profile=assigned, certificate=certificate)
    return certificate


def _assignment(profile: ScepProfile) -> ProfileAssignment:
    return ProfileAssignment.objects.get(scep_profile=profile)


# --- a change that revokes needs the revoke right -------------------------------------------------------


def test_a_profile_manager_cannot_revoke_by_unassigning(api_client_for, assigned, enrolled, device):
    client = api_client_for(*PROFILE_MANAGER)

    response = client.delete(f"/api/v1/profile-assignments/{_assignment(assigned).pk}/")

    assert response.status_code == 403, response.content
    assert "may not revoke certificates, and this would revoke 1" in response.json()["detail"]
    assert ProfileAssignment.objects.filter(scep_profile=assigned).exists()  # nothing changed
    enrolled.refresh_from_db()
    assert enrolled.revoked_at is None
    assert not RevocationRequest.objects.exists()
    assert DeviceCertificateState.objects.get(device=device).state == CertificateState.ISSUED
    denied = ConnectorEvent.objects.get(event_id=EventId.REVOKE_CERT_FAILURE)
    assert (denied.diagnostic_code, denied.serial) == (
        DiagnosticCode.REVOKE_CERT_ACCESS_DENIED,
        enrolled.serial,
    )
    assert denied.details["requested_by"] == f"api:{client.user.username}"


def test_nor_by_deleting_or_changing_the_profile(api_client_for, assigned, enrolled):
    client = api_client_for(*PROFILE_MANAGER)

    assert client.delete(f"/api/v1/scep-profiles/{assigned.pk}/").status_code == 403
    changed = client.patch(
        f"/api/v1/scep-profiles/{assigned.pk}/",
        {"subject_name_format_string": "CN={{UserName}}"},
        format="json",
    )
    assert changed.status_code == 403, changed.content
    assigned.refresh_from_db()
    assert assigned.version == 1
    enrolled.refresh_from_db()
    assert enrolled.revoked_at is None


def test_a_profile_that_keeps_its_certificates_can_be_unassigned_by_a_profile_manager(
    api_client_for, assigned, enrolled, device
):
    scep_profile_update(profile=assigned, revoke_on_removal=False)
    client = api_client_for(*PROFILE_MANAGER)

    assert client.delete(f"/api/v1/profile-assignments/{_assignment(assigned).pk}/").status_code == 204

    enrolled.refresh_from_db()
    assert enrolled.revoked_at is None
    assert DeviceCertificateState.objects.get(device=device).state == CertificateState.REMOVED


@pytest.mark.django_db(transaction=True)
def test_with_the_revoke_right_the_unassignment_revokes(api_client_for, assigned, enrolled):
    client = api_client_for(*PROFILE_MANAGER, "ca.revoke_issuedcertificate")

    assert client.delete(f"/api/v1/profile-assignments/{_assignment(assigned).pk}/").status_code == 204

    enrolled.refresh_from_db()
    assert enrolled.revoked_at is not None


def test_a_directory_change_revokes_by_policy_whoever_makes_it(
    api_client_for, assigned, enrolled, user, user_group
):
    """Removing a leaver from the group is how access ends: the system revokes, as Intune does."""
    client = api_client_for("directory.view_group", "directory.change_group")

    with TestCase.captureOnCommitCallbacks(execute=True):
        response = client.delete(
            f"/api/v1/groups/{user_group.pk}/members/", {"members": [user.external_id]}, format="json"
        )

    assert response.status_code in (200, 204), response.content
    assert RevocationRequest.objects.get().items.get().certificate == enrolled


def test_the_admin_shows_the_refusal_instead_of_failing(client, user_with_perms, assigned, enrolled):
    manager = user_with_perms(*PROFILE_MANAGER)
    manager.is_staff = True
    manager.save()
    client.force_login(manager)
    assignment = _assignment(assigned)

    response = client.post(
        f"/admin/profiles/profileassignment/{assignment.pk}/delete/", {"post": "yes"}, follow=True
    )

    assert response.status_code == 200
    assert "may not revoke certificates" in response.content.decode()
    assert ProfileAssignment.objects.filter(pk=assignment.pk).exists()
    enrolled.refresh_from_db()
    assert enrolled.revoked_at is None


# --- a fixed identity needs the certificate manager -----------------------------------------------------


def _payload(pki, root_profile, **overrides):
    fields = profile_fields(pki, root_profile, name="Administrator's certificate", **overrides)
    body = {
        key: (value.pk if hasattr(value, "pk") else value)
        for key, value in fields.items()
        if key not in ("root_profile", "authority", "template")
    }
    body.update(root_profile=root_profile.pk, authority=pki.issuing.slug, template=pki.template.name)
    return body


@pytest.mark.parametrize(
    ("overrides", "identity"),
    [
        ({"subject_alternative_names": [{"type": "upn", "value": "administrator@corp.example.com"}]}, "UPN="),
        (
            {
                "subject_alternative_names": [
                    {"type": "uri", "value": "tag:microsoft.com,2022-09-14:sid:S-1-5-21-1-2-3-500"}
                ]
            },
            "URI=tag:microsoft.com",
        ),
        ({"subject_name_format_string": "CN={{UserName}},E=root@corp.example.com"}, "E=root@"),
    ],
    ids=["static UPN", "static SID URI", "static email in the subject"],
)
def test_a_profile_manager_cannot_save_a_fixed_identity(
    api_client_for, pki, root_profile, settings, overrides, identity
):
    settings.CERTPORTAL_PROFILE_ANY_SAN_TYPE = True  # a static SID URI gets past the SAN types only so
    client = api_client_for(*PROFILE_MANAGER)

    response = client.post("/api/v1/scep-profiles/", _payload(pki, root_profile, **overrides), format="json")

    assert response.status_code == 403, response.content
    assert identity in response.json()["detail"]
    assert not ScepProfile.objects.filter(name="Administrator's certificate").exists()


def test_the_certificate_manager_may_and_a_profile_manager_may_then_edit_the_rest(
    api_client_for, pki, root_profile
):
    body = _payload(
        pki,
        root_profile,
        subject_alternative_names=[{"type": "upn", "value": "kiosk@corp.example.com"}],
    )
    certificate_manager = api_client_for(*PROFILE_MANAGER, "profiles.name_static_identity")
    created = certificate_manager.post("/api/v1/scep-profiles/", body, format="json")
    assert created.status_code == 201, created.content
    url = f"/api/v1/scep-profiles/{created.json()['id']}/"

    profile_manager = api_client_for(*PROFILE_MANAGER)
    assert profile_manager.patch(url, {"description": "the kiosks"}, format="json").status_code == 200
    renamed = profile_manager.patch(
        url,
        {"subject_alternative_names": [{"type": "upn", "value": "administrator@corp.example.com"}]},
        format="json",
    )
    assert renamed.status_code == 403
    assert ScepProfile.objects.get().subject_alternative_names == [
        {"type": "upn", "value": "kiosk@corp.example.com"}
    ]


def test_variables_are_no_fixed_identity(api_client_for, pki, root_profile):
    client = api_client_for(*PROFILE_MANAGER)

    response = client.post(
        "/api/v1/scep-profiles/",
        _payload(
            pki, root_profile, subject_alternative_names=[{"type": "upn", "value": "{{UserPrincipalName}}"}]
        ),
        format="json",
    )

    assert response.status_code == 201, response.content


# --- the directory says who gets challenges --------------------------------------------------------------


def test_a_disabled_user_gets_no_challenge(assigned, device, user):
    user.enabled = False
    user.save()

    (delivery,) = device_checkin(device=device).scep

    assert (delivery.challenge, delivery.rendered) == ("", None)
    assert delivery.problem == "the device's user jdoe@corp.example.com is disabled: no certificate for it"
    assert not DeviceChallenge.objects.exists()
    assert DeviceCertificateState.objects.get(device=device).state == CertificateState.FAILED
