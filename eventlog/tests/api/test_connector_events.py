"""/api/v1/connector-events/: the event log, read-only, its filters, the code as the connector shows it."""

from __future__ import annotations

import datetime as dt

import pytest

from django.utils import timezone
from rest_framework.test import APIClient

URL = "/api/v1/connector-events/"
VIEW = "eventlog.view_connectorevent"


def _ids(response) -> set[int]:
    assert response.status_code == 200, response.content
    return {item["id"] for item in response.json()["results"]}


def test_reading_needs_the_view_permission(events, api_client_for):
    assert APIClient().get(URL).status_code == 401
    assert api_client_for().get(URL).status_code == 403
    assert _ids(api_client_for(VIEW).get(URL)) == {event.pk for event in events.values()}


def test_an_event_shows_its_name_code_message_and_links(events, api_client_for):
    response = api_client_for(VIEW).get(f"{URL}{events['expired'].pk}/")
    assert response.status_code == 200
    data = response.json()
    assert (data["event_id"], data["event_name"], data["level"]) == (
        20501,
        "CRPVerifyMetric_Warning",
        "warning",
    )
    assert (data["diagnostic_code"], data["diagnostic"]) == (0x411, "0x00000411 CRPSCEPChallenge_Expired")
    assert data["diagnostic_message"].startswith("Request denied due to expired certificate challenge.")
    assert "check-in" in data["diagnostic_action"]
    assert (data["device_id"], data["device_external_id"], data["user_principal_name"]) == (
        11,
        "intune-11",
        "alice@corp.example.com",
    )
    assert data["details"] == {"reason": "ChallengeExpired"}


def test_an_event_without_a_code_shows_none(events, api_client_for):
    data = api_client_for(VIEW).get(f"{URL}{events['issued'].pk}/").json()
    assert (data["diagnostic_code"], data["diagnostic"], data["diagnostic_message"]) == (None, "", "")


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"event_id": 20501}, {"expired"}),
        ({"event_id": 10010}, {"started"}),
        ({"diagnostic_code": "0x00000411"}, {"expired"}),
        ({"diagnostic_code": "0x411"}, {"expired"}),
        ({"diagnostic_code": "1041"}, {"expired"}),
        ({"diagnostic_code": "0"}, {"started"}),
        ({"diagnostic_code": "nonsense"}, set()),
        ({"device_id": 12}, {"issued"}),
        ({"user_id": 21}, {"expired"}),
        ({"serial": "0a1b"}, {"issued"}),
        ({"level": "warning"}, {"expired"}),
    ],
)
def test_filters(events, api_client_for, query, expected):
    assert _ids(api_client_for(VIEW).get(URL, query)) == {events[name].pk for name in expected}


def test_time_filters(events, api_client_for):
    client = api_client_for(VIEW)
    cutoff = (timezone.now() - dt.timedelta(days=1)).isoformat()
    assert _ids(client.get(URL, {"created_after": cutoff})) == {events["expired"].pk, events["issued"].pk}
    assert _ids(client.get(URL, {"created_before": cutoff})) == {events["started"].pk}


def test_an_unknown_event_id_is_a_400(events, api_client_for):
    assert api_client_for(VIEW).get(URL, {"event_id": 12345}).status_code == 400


def test_the_log_is_read_only(events, api_client_for):
    client = api_client_for(VIEW, "eventlog.add_connectorevent", "eventlog.delete_connectorevent")
    assert client.post(URL, {"event_id": 4000, "message": "forged"}, format="json").status_code == 405
    assert client.delete(f"{URL}{events['expired'].pk}/").status_code == 405


def test_newest_first(events, api_client_for):
    results = api_client_for(VIEW).get(URL).json()["results"]
    assert results[-1]["id"] == events["started"].pk
