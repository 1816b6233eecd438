"""/api/v1/device-certificate-states/: which devices have their certificate, and why not; filters."""

from __future__ import annotations

import pytest

from rest_framework.test import APIClient

from directory.models import Platform
from directory.tests.factories import DeviceFactory
from profiles.choices import CertificateState
from profiles.services.states import device_state_set

URL = "/api/v1/device-certificate-states/"


@pytest.fixture
def api(admin_user) -> APIClient:
    client = APIClient()
    client.force_authenticate(admin_user)
    return client


@pytest.fixture
def states(make_profile, device):
    """iPhone-1 failed (expired challenge) for profile A and has a challenge for B; iPhone-2 failed for A."""
    a, b = make_profile(name="A"), make_profile(name="B")
    other = DeviceFactory.create(name="iPhone-2", platform=Platform.IOS)
    device_state_set(
        device=device,
        profile=a,
        state=CertificateState.FAILED,
        reason="challenge expired",
        diagnostic_code=0x411,
    )
    device_state_set(device=device, profile=b, state=CertificateState.CHALLENGE_ISSUED)
    device_state_set(device=other, profile=a, state=CertificateState.FAILED, reason="no IMEI")
    return a, b, other


def rows(response) -> list[tuple[str, str, str]]:
    assert response.status_code == 200, response.content
    return [(item["device_name"], item["profile_name"], item["state"]) for item in response.json()["results"]]


def test_a_state_row(api, states, device):
    a, _, _ = states

    response = api.get(URL, {"device": device.external_id, "profile": a.pk})

    (row,) = response.json()["results"]
    assert row["device"] == device.external_id
    assert (row["profile"], row["profile_name"]) == (a.pk, "A")
    assert (row["state"], row["graph_issuance_state"], row["reason"]) == ("failed", 7, "challenge expired")
    assert (row["diagnostic_code"], row["diagnostic_code_hex"]) == (1041, "0x00000411")
    assert (row["certificate"], row["certificate_serial"], row["certificate_thumbprint"]) == (
        None,
        None,
        None,
    )


def test_filter_by_profile(api, states):
    a, _, _ = states
    assert sorted(rows(api.get(URL, {"profile": a.pk}))) == [
        ("iPhone-1", "A", "failed"),
        ("iPhone-2", "A", "failed"),
    ]


def test_filter_by_state(api, states):
    assert rows(api.get(URL, {"state": "challenge_issued"})) == [("iPhone-1", "B", "challenge_issued")]


def test_filter_by_device(api, states):
    _, _, other = states
    assert rows(api.get(URL, {"device": other.external_id})) == [("iPhone-2", "A", "failed")]


def test_filter_by_profile_and_state(api, states, device):
    a, _, _ = states
    assert rows(api.get(URL, {"profile": a.pk, "state": "challenge_issued"})) == []


def test_states_are_read_only(api, states):
    assert api.post(URL, {}, format="json").status_code == 405
