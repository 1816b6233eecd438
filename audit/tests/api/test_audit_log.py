"""/api/v1/audit-log/: read with ``audit.view_auditentry``, filtered by actor, object, action and time."""

from __future__ import annotations

import datetime as dt

import pytest

from django.urls import include, path
from django.utils import timezone
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.validation import validate_schema
from rest_framework.test import APIClient

from audit.api.urls import router
from audit.choices import ActorKind
from audit.context import Actor, actor_scope
from audit.models import AuditEntry
from directory.models import DirectoryUser
from directory.tests.factories import DirectoryUserFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/audit-log/"
VIEW = "audit.view_auditentry"


@pytest.fixture
def writes(time_machine) -> dict[str, AuditEntry]:
    """Alice creates a user yesterday; a command renames it today; the system deletes another."""
    time_machine.move_to(timezone.now() - dt.timedelta(days=1), tick=False)
    with actor_scope(Actor(kind=ActorKind.USER, name="alice", user_id=None)):
        person = DirectoryUserFactory.create(display_name="Eve")
    time_machine.move_to(timezone.now() + dt.timedelta(days=1), tick=False)
    with actor_scope(Actor(kind=ActorKind.COMMAND, name="command:directory_import", os_user="ops")):
        person.display_name = "Eve Renamed"
        person.save()
    other = DirectoryUserFactory.create()
    other_pk = other.pk
    DirectoryUser.objects.get(pk=other_pk).delete()
    entries = AuditEntry.objects.filter(object_type="directory.directoryuser").order_by("id")
    created, renamed, other_created, deleted = entries
    return {"created": created, "renamed": renamed, "other_created": other_created, "deleted": deleted}


def _ids(response) -> set[int]:
    assert response.status_code == 200, response.content
    return {item["id"] for item in response.json()["results"]}


def test_reading_needs_the_view_permission(writes, api_client_for):
    assert APIClient().get(URL).status_code == 401
    assert api_client_for().get(URL).status_code == 403
    assert {entry.pk for entry in writes.values()} <= _ids(api_client_for(VIEW).get(URL))


def test_an_entry_shows_who_what_when_and_the_values(writes, api_client_for, sealing):
    sealing()
    renamed = writes["renamed"]
    data = api_client_for(VIEW).get(f"{URL}{renamed.pk}/").json()
    assert data["action"] == "update"
    assert (data["object_type"], data["object_pk"]) == ("directory.directoryuser", renamed.object_pk)
    assert data["changes"] == {"display_name": ["Eve", "Eve Renamed"]}
    assert data["actor"] == {
        "kind": "command",
        "name": "command:directory_import",
        "user_id": None,
        "token": "",
        "device_id": None,
        "on_behalf_of": "",
        "os_user": "ops",
        "remote_addr": None,
        "via": "",
    }
    assert data["sealed"] is True


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"actor": "alice"}, {"created"}),
        ({"actor": "command:directory_import"}, {"renamed"}),
        ({"actor_kind": "system"}, {"other_created", "deleted"}),
        ({"action": "delete"}, {"deleted"}),
        ({"action": "create", "object_type": "directory.directoryuser"}, {"created", "other_created"}),
    ],
)
def test_filters(writes, api_client_for, query, expected):
    found = _ids(api_client_for(VIEW).get(URL, {**query, "object_type": "directory.DirectoryUser"}))
    assert found == {writes[name].pk for name in expected}


def test_filters_by_object_and_time(writes, api_client_for):
    client = api_client_for(VIEW)
    created = writes["created"]
    by_object = _ids(
        client.get(URL, {"object_type": "directory.directoryuser", "object_id": created.object_pk})
    )
    assert by_object == {created.pk, writes["renamed"].pk}
    today = (timezone.now() - dt.timedelta(hours=1)).isoformat()
    after = _ids(client.get(URL, {"object_type": "directory.directoryuser", "created_after": today}))
    before = _ids(client.get(URL, {"object_type": "directory.directoryuser", "created_before": today}))
    assert created.pk in before
    assert created.pk not in after
    assert writes["renamed"].pk in after


def _schema():
    patterns = [path("api/v1/", include((router.urls, "api"), namespace="v1"))]
    return SchemaGenerator(patterns=patterns).get_schema(request=None, public=True)


def test_the_schema_is_valid_read_only_and_documents_the_filters():
    GENERATOR_STATS.reset()
    with GENERATOR_STATS.silence():
        schema = _schema()
    validate_schema(schema)
    assert dict(GENERATOR_STATS._warn_cache) == {}
    assert set(schema["paths"]) == {URL, f"{URL}{{id}}/"}
    assert set(schema["paths"][URL]) == {"get"}
    parameters = {p["name"] for p in schema["paths"][URL]["get"]["parameters"]}
    assert parameters >= {"actor", "object_type", "object_id", "action", "created_after", "created_before"}
