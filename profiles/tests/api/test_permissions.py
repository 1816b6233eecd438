"""Permission matrix of the profiles API: anonymous 401, without the permission 403, with it allowed."""

from __future__ import annotations

import pytest

from rest_framework.test import APIClient

from directory.models import Device, DeviceState
from directory.services.checkin_tokens import device_checkin_token_rotate
from profiles.models import ProfileAssignment, ScepProfile

ENDPOINTS = [
    ("get", "/api/v1/trusted-root-profiles/", "profiles.view_trustedrootprofile", 200),
    ("get", "/api/v1/trusted-root-profiles/{root}/", "profiles.view_trustedrootprofile", 200),
    ("patch", "/api/v1/trusted-root-profiles/{root}/", "profiles.change_trustedrootprofile", 200),
    ("get", "/api/v1/scep-profiles/", "profiles.view_scepprofile", 200),
    ("get", "/api/v1/scep-profiles/{profile}/", "profiles.view_scepprofile", 200),
    ("patch", "/api/v1/scep-profiles/{profile}/", "profiles.change_scepprofile", 200),
    ("delete", "/api/v1/scep-profiles/{profile}/", "profiles.delete_scepprofile", 204),
    ("get", "/api/v1/scep-profiles/{profile}/preview/?device={device_id}", "profiles.view_scepprofile", 200),
    ("get", "/api/v1/profile-assignments/", "profiles.view_profileassignment", 200),
    ("post", "/api/v1/profile-assignments/", "profiles.add_profileassignment", 201),
    ("get", "/api/v1/device-certificate-states/", "profiles.view_devicecertificatestate", 200),
    # Retiring and wiping revoke: the certificate manager's right (directory.change_device is not enough).
    ("post", "/api/v1/devices/{device}/retire/", "ca.revoke_issuedcertificate directory.view_device", 202),
    ("post", "/api/v1/devices/{device}/wipe/", "ca.revoke_issuedcertificate directory.view_device", 202),
    ("post", "/api/v1/devices/{device}/payload/", "profiles.hand_out_payload directory.view_device", 200),
    ("get", "/api/v1/devices/{device}/timeline/", "eventlog.view_connectorevent directory.view_device", 200),
]


@pytest.fixture
def request_for(scep_profile, root_profile, user_group, device):
    def _request(client: APIClient, method: str, path: str):
        url = path.format(
            root=root_profile.pk, profile=scep_profile.pk, device=device.pk, device_id=device.external_id
        )
        data = {"scep_profile": scep_profile.pk, "group": user_group.external_id} if method == "post" else {}
        if method == "patch":
            data = {"description": "changed"}
        return getattr(client, method)(url, data, format="json")

    return _request


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=[f"{m} {p}" for m, p, _, _ in ENDPOINTS])
def test_anonymous_is_unauthorized(request_for, endpoint):
    method, path, _, _ = endpoint
    assert request_for(APIClient(), method, path).status_code == 401


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=[f"{m} {p}" for m, p, _, _ in ENDPOINTS])
def test_a_user_without_the_permission_is_forbidden(request_for, api_client_for, device, endpoint):
    method, path, _, _ = endpoint
    response = request_for(api_client_for(), method, path)

    assert response.status_code == 403
    assert ScepProfile.objects.get().version == 1
    assert not ProfileAssignment.objects.exists()
    device.refresh_from_db()
    assert device.state == DeviceState.ACTIVE


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=[f"{m} {p}" for m, p, _, _ in ENDPOINTS])
def test_a_user_with_the_permission_is_allowed(request_for, api_client_for, endpoint):
    method, path, perms, allowed = endpoint
    response = request_for(api_client_for(*perms.split()), method, path)
    assert response.status_code == allowed, response.content


def test_a_view_permission_does_not_allow_writes(request_for, api_client_for):
    client = api_client_for("profiles.view_scepprofile", "profiles.view_profileassignment")
    assert request_for(client, "patch", "/api/v1/scep-profiles/{profile}/").status_code == 403
    assert request_for(client, "post", "/api/v1/profile-assignments/").status_code == 403


@pytest.mark.parametrize(
    "perms",
    [
        "directory.change_device directory.view_device",  # the directory's right alone
        "ca.revoke_issuedcertificate",  # the revoke right without seeing devices
    ],
)
@pytest.mark.parametrize("action", ["retire", "wipe"])
def test_retire_and_wipe_need_the_revoke_right_and_the_device(
    request_for, api_client_for, device, action, perms
):
    response = request_for(api_client_for(*perms.split()), "post", f"/api/v1/devices/{{device}}/{action}/")

    assert response.status_code == 403
    device.refresh_from_db()
    assert device.state == DeviceState.ACTIVE


def test_the_old_challenge_right_alone_hands_out_no_payload(request_for, api_client_for, device):
    client = api_client_for("profiles.add_devicechallenge", "directory.view_device")

    assert request_for(client, "post", "/api/v1/devices/{device}/payload/").status_code == 403


def test_a_device_cannot_use_the_admin_api(device, db):
    token = device_checkin_token_rotate(device=device)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Device {device.external_id}:{token}")
    assert client.get("/api/v1/scep-profiles/").status_code == 401
    assert Device.objects.get(pk=device.pk).state == DeviceState.ACTIVE
