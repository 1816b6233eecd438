"""The directory endpoints in the OpenAPI schema: valid, complete, and generated without warnings."""

from django.urls import include, path
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.validation import validate_schema

from directory.api.urls import router

PATHS = {
    "/api/v1/users/",
    "/api/v1/users/{id}/",
    "/api/v1/devices/",
    "/api/v1/devices/{id}/",
    "/api/v1/devices/{id}/checkin-token/",
    "/api/v1/groups/",
    "/api/v1/groups/{id}/",
    "/api/v1/groups/{id}/members/",
    "/api/v1/directory-import/",
    "/api/v1/directory-import/{id}/",
}


def _schema():
    patterns = [path("api/v1/", include((router.urls, "api"), namespace="v1"))]
    return SchemaGenerator(patterns=patterns).get_schema(request=None, public=True)


def test_schema_is_valid_and_documents_the_actions():
    schema = _schema()
    validate_schema(schema)
    assert set(schema["paths"]) == PATHS
    assert set(schema["paths"]["/api/v1/groups/{id}/members/"]) == {"get", "put", "post", "delete"}
    assert set(schema["paths"]["/api/v1/directory-import/"]["post"]["requestBody"]["content"]) == {
        "application/json",
        "multipart/form-data",
    }
    assert set(schema["paths"]["/api/v1/devices/{id}/checkin-token/"]["post"]["responses"]) == {"200", "409"}


def test_schema_generates_without_warnings_or_errors():
    GENERATOR_STATS.reset()
    with GENERATOR_STATS.silence():
        _schema()
    assert dict(GENERATOR_STATS._warn_cache) == {}
    assert dict(GENERATOR_STATS._error_cache) == {}
