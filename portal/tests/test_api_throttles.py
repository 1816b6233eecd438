"""Rate limits and cache headers of the responses that hand out one-time challenges: check-ins per device
(CERTPORTAL_CHECKIN_RATE), payloads per user (CERTPORTAL_PAYLOAD_RATE). A throttled request gets 429 with
Retry-After and a message; every answer that carries a challenge says ``Cache-Control: no-store``.
"""

from __future__ import annotations

from typing import Any

import pytest
import time_machine

from django.core.cache import cache
from rest_framework.test import APIClient

from directory.models import Device
from directory.services.checkin_tokens import device_checkin_token_rotate
from profiles.models import DeviceChallenge

CHECKIN = "/api/v1/checkin/"
#: A fixed instant at the start of a minute and of an hour, so that one window holds the whole test.
START = "2031-05-05 10:00:00+00:00"


@pytest.fixture(autouse=True)
def _fresh_counters() -> Any:
    cache.clear()
    yield
    cache.clear()


def _rates(settings: Any, **rates: str) -> None:
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK.get("DEFAULT_THROTTLE_RATES", {}), **rates},
    }


def device_client(device: Device) -> APIClient:
    client = APIClient()
    token = device_checkin_token_rotate(device=device)
    client.credentials(HTTP_AUTHORIZATION=f"Device {device.external_id}:{token}")
    return client


def admin_api(user: Any) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@time_machine.travel(START, tick=False)
def test_a_device_past_its_checkin_rate_gets_429_until_the_window_passes(settings, assigned, device):
    _rates(settings, checkin="3/h")
    client = device_client(device)

    answers = [client.get(CHECKIN).status_code for _ in range(4)]

    assert answers == [200, 200, 200, 429]
    refused = client.get(f"{CHECKIN}mobileconfig/")  # every format counts against the same device
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) == 3600
    assert "throttled" in refused.json()["detail"]
    with time_machine.travel("2031-05-05 11:00:01+00:00", tick=False):
        assert client.get(CHECKIN).status_code == 200


@time_machine.travel(START, tick=False)
def test_the_checkin_rate_is_per_device(settings, assigned, device, user):
    _rates(settings, checkin="1/h")
    other = Device.objects.create(external_id="dev-other", name="other", primary_user=user)
    first, second = device_client(device), device_client(other)

    assert [first.get(CHECKIN).status_code, first.get(CHECKIN).status_code] == [200, 429]
    assert second.get(CHECKIN).status_code == 200


def test_the_default_checkin_rate_applies_without_a_setting(settings, assigned, device):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {}}
    client = device_client(device)

    with time_machine.travel(START, tick=False):
        answers = [client.get(CHECKIN).status_code for _ in range(31)]

    assert answers.count(200) == 30
    assert answers[-1] == 429


@time_machine.travel(START, tick=False)
def test_payloads_past_the_users_rate_get_429(settings, assigned, device, admin_user, django_user_model):
    _rates(settings, payload="2/min")
    api = admin_api(admin_user)
    url = f"/api/v1/devices/{device.pk}/payload/"

    answers = [api.post(url).status_code for _ in range(3)]

    assert answers == [200, 200, 429]
    assert DeviceChallenge.objects.count() == 1  # the refused hand-out issued nothing
    other = django_user_model.objects.create_superuser(username="other-admin", password="pw")
    assert admin_api(other).post(url).status_code == 200  # another user has a counter of its own


@pytest.mark.parametrize("suffix", ["", "mobileconfig/", "windows-csp/"])
def test_checkin_answers_are_not_cached(assigned, device, suffix):
    response = device_client(device).get(f"{CHECKIN}{suffix}")

    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"


@pytest.mark.parametrize("kind", ["json", "mobileconfig", "windows-csp"])
def test_payloads_are_not_cached(assigned, device, admin_user, kind):
    response = admin_api(admin_user).post(f"/api/v1/devices/{device.pk}/payload/?kind={kind}")

    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
