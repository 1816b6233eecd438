"""/api/v1/certificates/?expiring_before=... and ?expiring_within_days=...: certificates not expired yet
whose notAfter comes before a moment, validated, and documented in the OpenAPI schema.
"""

from __future__ import annotations

import datetime as dt

import pytest

from django.urls import include, path
from django.utils import timezone
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator

from ca.api.urls import router as ca_router
from ca.choices import RevocationReason
from ca.models import IssuedCertificate

URL = "/api/v1/certificates/"


@pytest.fixture
def viewer(api_client_for):
    return api_client_for("ca.view_issuedcertificate")


@pytest.fixture
def certificates(pki, issue):
    """Certificates valid for 10, 60 and 365 days, and one for 60 days that is revoked."""

    def issued(common_name: str, days: int) -> IssuedCertificate:
        pki.template.validity_days = days
        pki.template.save()
        return IssuedCertificate.objects.get(request=issue(common_name=common_name))

    made = {
        "short": issued("short", 10),
        "mid": issued("mid", 60),
        "long": issued("long", 365),
        "revoked": issued("revoked", 60),
    }
    IssuedCertificate.objects.filter(pk=made["revoked"].pk).update(
        revoked_at=timezone.now(), revocation_reason=RevocationReason.SUPERSEDED
    )
    return made


def _names(response) -> set[str]:
    assert response.status_code == 200, response.content
    return {item["subject"].removeprefix("CN=") for item in response.json()["results"]}


def test_expiring_within_days(certificates, viewer):
    assert _names(viewer.get(URL, {"expiring_within_days": 30})) == {"short"}
    assert _names(viewer.get(URL, {"expiring_within_days": 90})) == {"short", "mid", "revoked"}
    assert _names(viewer.get(URL, {"expiring_within_days": 90, "status": "issued"})) == {"short", "mid"}
    assert _names(viewer.get(URL, {"expiring_within_days": 0})) == set()


def test_expiring_before(certificates, viewer):
    moment = certificates["mid"].not_after
    assert _names(viewer.get(URL, {"expiring_before": moment.isoformat()})) == {"short"}
    after = (moment + dt.timedelta(seconds=1)).isoformat()
    assert _names(viewer.get(URL, {"expiring_before": after})) == {"short", "mid", "revoked"}
    utc = (moment + dt.timedelta(seconds=1)).astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert _names(viewer.get(URL, {"expiring_before": utc, "status": "issued"})) == {"short", "mid"}


def test_an_expired_certificate_is_not_expiring(certificates, viewer, time_machine):
    time_machine.move_to(certificates["short"].not_after + dt.timedelta(seconds=1), tick=False)
    assert _names(viewer.get(URL, {"expiring_within_days": 90})) == {"mid", "revoked"}
    until = (certificates["mid"].not_after + dt.timedelta(days=1)).isoformat()
    assert _names(viewer.get(URL, {"expiring_before": until})) == {"mid", "revoked"}
    # expires_before keeps counting the expired one: the difference between the two filters
    assert _names(viewer.get(URL, {"expires_before": until})) == {"short", "mid", "revoked"}


@pytest.mark.parametrize(
    "query",
    [
        {"expiring_within_days": -1},
        {"expiring_within_days": 36501},
        {"expiring_within_days": "2.5"},
        {"expiring_within_days": "soon"},
        {"expiring_before": "next tuesday"},
    ],
)
def test_bad_values_are_a_400_with_the_field(certificates, viewer, query):
    response = viewer.get(URL, query)
    assert response.status_code == 400
    assert set(response.json()) >= set(query)


def test_the_filters_need_the_view_permission(certificates, api_client_for):
    assert api_client_for().get(URL, {"expiring_within_days": 30}).status_code == 403


def _schema():
    patterns = [path("api/v1/", include((ca_router.urls, "api"), namespace="v1"))]
    return SchemaGenerator(patterns=patterns).get_schema(request=None, public=True)


def test_the_filters_are_in_the_openapi_schema_without_warnings():
    GENERATOR_STATS.reset()
    with GENERATOR_STATS.silence():
        schema = _schema()
    assert dict(GENERATOR_STATS._warn_cache) == {}
    assert dict(GENERATOR_STATS._error_cache) == {}
    parameters = {parameter["name"]: parameter for parameter in schema["paths"][URL]["get"]["parameters"]}
    before = parameters["expiring_before"]
    assert before["in"] == "query"
    assert before["schema"] == {"type": "string", "format": "date-time"}
    assert "not expired yet" in before["description"]
    within = parameters["expiring_within_days"]
    assert within["schema"] == {"type": "integer"}
    assert "0 to 36500" in within["description"]
