"""The event log's endpoints in the OpenAPI schema: valid, and generated without warnings."""

from django.urls import include, path
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.validation import validate_schema
from rest_framework.test import APIClient

from eventlog.api.urls import router

PATHS = {"/api/v1/connector-events/", "/api/v1/connector-events/{id}/"}


def _schema():
    patterns = [path("api/v1/", include((router.urls, "api"), namespace="v1"))]
    return SchemaGenerator(patterns=patterns).get_schema(request=None, public=True)


def test_schema_is_valid_and_documents_the_filters():
    schema = _schema()
    validate_schema(schema)
    assert set(schema["paths"]) == PATHS
    parameters = {p["name"] for p in schema["paths"]["/api/v1/connector-events/"]["get"]["parameters"]}
    assert parameters >= {
        "event_id",
        "diagnostic_code",
        "device_id",
        "user_id",
        "serial",
        "created_after",
        "created_before",
    }
    assert set(schema["paths"]["/api/v1/connector-events/"]) == {"get"}


def test_schema_generates_without_warnings_or_errors():
    GENERATOR_STATS.reset()
    with GENERATOR_STATS.silence():
        _schema()
    assert dict(GENERATOR_STATS._warn_cache) == {}
    assert dict(GENERATOR_STATS._error_cache) == {}


def test_the_project_schema_has_the_event_log(db):
    GENERATOR_STATS.reset()
    with GENERATOR_STATS.silence():
        response = APIClient().get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    assert set(response.json()["paths"]) >= PATHS
    assert {key for key in GENERATOR_STATS._warn_cache if "connector" in str(key).lower()} == set()
