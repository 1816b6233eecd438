"""The event log in the admin: read-only, filtered by event, level, code and date, searched by its links."""

from __future__ import annotations

import datetime as dt

import pytest

from django.contrib import admin
from django.urls import reverse
from django.utils import timezone

from eventlog.models import ConnectorEvent

CHANGELIST = reverse("admin:eventlog_connectorevent_changelist")


def _listed(response) -> set[int]:
    assert response.status_code == 200
    return {event.pk for event in response.context["cl"].result_list}


def test_the_event_log_is_registered():
    assert admin.site.is_registered(ConnectorEvent)


def test_the_changelist_shows_the_code_as_the_connector_does(admin_client, events):
    response = admin_client.get(CHANGELIST)
    assert _listed(response) == {event.pk for event in events.values()}
    page = response.content.decode()
    assert "0x00000411 CRPSCEPChallenge_Expired" in page
    assert "CRPVerifyMetric_Warning" in page


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"event_id": "20501"}, {"expired"}),
        ({"event_id": "4006"}, {"issued"}),
        ({"level": "warning"}, {"expired"}),
        ({"diagnostic_code": str(0x411)}, {"expired"}),
        ({"diagnostic_code": "0"}, {"started"}),
        ({"q": "11"}, {"expired"}),
        ({"q": "intune-12"}, {"issued"}),
        ({"q": "alice@corp"}, {"expired"}),
        ({"q": "0A1B"}, {"issued"}),
        ({"q": "C0FFEE"}, {"issued"}),
        ({"q": "tid-expired"}, {"expired"}),
        ({"q": "no-such-thing"}, set()),
    ],
)
def test_filters_and_search(admin_client, events, query, expected):
    assert _listed(admin_client.get(CHANGELIST, query)) == {events[name].pk for name in expected}


def test_the_date_filter(admin_client, events):
    since = timezone.now() - dt.timedelta(days=1)
    response = admin_client.get(CHANGELIST, {"created_at__gte": since.isoformat()})
    assert _listed(response) == {events["expired"].pk, events["issued"].pk}
    day = events["started"].created_at
    hierarchy = {"created_at__year": day.year, "created_at__month": day.month, "created_at__day": day.day}
    assert events["started"].pk in _listed(admin_client.get(CHANGELIST, hierarchy))


def test_the_change_page_explains_the_code(admin_client, events):
    url = reverse("admin:eventlog_connectorevent_change", args=[events["expired"].pk])
    page = admin_client.get(url).content.decode()
    assert "0x00000411 CRPSCEPChallenge_Expired" in page
    assert "Request denied due to expired certificate challenge." in page
    assert "CERTPORTAL_CHALLENGE_TTL_MINUTES" in page  # what to do
    assert "Certificate Registration Point completed but rejected the request." in page


def test_the_event_log_is_read_only(admin_client, events):
    event = events["expired"]
    assert admin_client.get(reverse("admin:eventlog_connectorevent_add")).status_code == 403
    delete = reverse("admin:eventlog_connectorevent_delete", args=[event.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    change = reverse("admin:eventlog_connectorevent_change", args=[event.pk])
    admin_client.post(change, {"message": "rewritten"})
    event.refresh_from_db()
    assert event.message.startswith("challenge rejected")
    assert ConnectorEvent.objects.count() == 3
