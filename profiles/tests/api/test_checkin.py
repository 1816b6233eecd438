"""GET /api/v1/checkin/ (JSON, /mobileconfig/, /windows-csp/) with the device's check-in token."""

from __future__ import annotations

import plistlib
import xml.etree.ElementTree as ET

import pytest

from rest_framework.test import APIClient

from access.services.tokens import api_token_create
from directory.models import Device, DeviceState
from directory.services.checkin_tokens import device_checkin_token_rotate
from profiles.models import DeviceChallenge

URL = "/api/v1/checkin/"


@pytest.fixture
def token(device) -> str:
    return device_checkin_token_rotate(device=device)


def device_client(device: Device, token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Device {device.external_id}:{token}")
    return client


def test_checkin_json(assigned, device, token, pki):
    response = device_client(device, token).get(URL)

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["device"]["id"] == device.external_id
    assert [root["thumbprint_sha1"] for root in body["trusted_roots"]] == [pki.root.fingerprint_sha1]
    (scep,) = body["scep"]
    assert (scep["state"], scep["subject"]) == ("challenge_issued", "O=certportal tests,CN=jdoe")
    assert scep["challenge"].startswith(f"cp1.{DeviceChallenge.objects.get().id.hex}.")


def test_checkin_mobileconfig(assigned, device, token):
    response = device_client(device, token).get(f"{URL}mobileconfig/")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/x-apple-aspen-config"
    document = plistlib.loads(response.content)
    scep = document["PayloadContent"][1]["PayloadContent"]
    assert scep["Challenge"].startswith(f"cp1.{DeviceChallenge.objects.get().id.hex}.")


def test_checkin_windows_csp(assigned, device, token):
    response = device_client(device, token).get(f"{URL}windows-csp/")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.syncml+xml"
    assert ET.fromstring(response.content).tag == "{SYNCML:SYNCML1.2}SyncML"  # noqa: S314 - our own output


def refused(response) -> None:
    assert response.status_code == 401, response.content
    assert response["WWW-Authenticate"] == "Device"
    assert not DeviceChallenge.objects.exists()


def test_wrong_token_is_refused(assigned, device, token):
    refused(device_client(device, token + "x").get(URL))


def test_a_rotated_token_stops_working(assigned, device, token):
    device_checkin_token_rotate(device=device)
    refused(device_client(device, token).get(URL))


def test_the_token_of_another_device_is_refused(assigned, device, token, db):
    other = Device.objects.create(external_id="other-device", name="Other", platform="ios")
    refused(device_client(other, token).get(URL))


def test_a_device_without_a_token_is_refused(assigned, device):
    refused(device_client(device, "").get(URL))


@pytest.mark.parametrize("header", ["Device", "Device nocolon", "Device unknown:token"])
def test_malformed_or_unknown_device_credentials_are_refused(assigned, device, token, header):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    refused(client.get(URL))


def test_a_retired_device_is_refused(assigned, device, token):
    Device.objects.filter(pk=device.pk).update(state=DeviceState.RETIRED)
    refused(device_client(device, token).get(URL))


def test_anonymous_is_refused(assigned, device):
    refused(APIClient().get(URL))


def test_an_admin_token_is_not_a_device(assigned, admin_user):
    client = APIClient()
    client.credentials(
        HTTP_AUTHORIZATION=f"Token {api_token_create(user=admin_user, name='test', created_by=None).secret}"
    )
    # Only device credentials are read here: an admin's token is no credential at all (401, not 403).
    refused(client.get(URL))


def test_an_admin_session_is_not_a_device(assigned, admin_user):
    client = APIClient()
    client.force_login(admin_user)
    refused(client.get(URL))
