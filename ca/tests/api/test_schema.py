"""OpenAPI schema and the API docs: generated without warnings, valid OpenAPI 3, assets served locally."""

from __future__ import annotations

import json
import re
from typing import Any

import yaml

from django.contrib.staticfiles import finders
from django.urls import include, path
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.validation import validate_schema
from rest_framework.test import APIClient

from ca.api.urls import router as ca_router

CA_PATHS = {
    "/api/v1/certificate-authorities/",
    "/api/v1/certificate-authorities/{slug}/",
    "/api/v1/certificate-authorities/{slug}/chain/",
    "/api/v1/certificate-authorities/{slug}/crl/",
    "/api/v1/certificate-templates/",
    "/api/v1/certificate-templates/{name}/",
    "/api/v1/certificates/",
    "/api/v1/certificates/{id}/",
    "/api/v1/certificates/{id}/revoke/",
    "/api/v1/revocation-requests/",
    "/api/v1/revocation-requests/{id}/",
    "/api/v1/certificate-requests/",
    "/api/v1/certificate-requests/{id}/",
    "/api/v1/certificate-requests/{id}/approve/",
    "/api/v1/certificate-requests/{id}/deny/",
}


def _ca_schema() -> Any:
    """The schema of the CA endpoints alone, mounted as portal/api/urls.py mounts them."""
    patterns = [path("api/v1/", include((ca_router.urls, "api"), namespace="v1"))]
    return SchemaGenerator(patterns=patterns).get_schema(request=None, public=True)


def _external_asset_urls(html: str) -> list[str]:
    return [url for url in re.findall(r'(?:src|href)="([^"]+)"', html) if re.match(r"(?i)(https?:)?//", url)]


def _local_assets(html: str) -> list[str]:
    return re.findall(r'(?:src|href)="/static/([^"]+)"', html)


def test_schema_endpoint_returns_a_valid_openapi_3_document(db):
    response = APIClient().get("/api/schema/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.oai.openapi")
    schema = yaml.safe_load(response.content)
    assert schema["openapi"].startswith("3.")
    assert schema["info"]["title"] == "certportal API"
    assert set(schema["paths"]) >= CA_PATHS
    validate_schema(schema)


def test_schema_endpoint_serves_json_on_request(db):
    response = APIClient().get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    schema = json.loads(response.content)
    assert schema["openapi"].startswith("3.")
    assert set(schema["paths"]) >= CA_PATHS


def test_ca_schema_is_valid_and_documents_the_actions():
    schema = _ca_schema()
    validate_schema(schema)
    assert set(schema["paths"]) == CA_PATHS
    crl = schema["paths"]["/api/v1/certificate-authorities/{slug}/crl/"]["get"]["responses"]
    assert set(crl["200"]["content"]) == {"application/pkix-crl"}
    chain = schema["paths"]["/api/v1/certificate-authorities/{slug}/chain/"]["get"]["responses"]
    assert set(chain["200"]["content"]) == {"application/pem-certificate-chain"}
    revoke = schema["paths"]["/api/v1/certificates/{id}/revoke/"]["post"]
    assert set(revoke["responses"]) == {"200", "202", "409"}
    submit = schema["paths"]["/api/v1/certificate-requests/"]["post"]
    assert set(submit["responses"]) == {"201", "202"}
    request_body = submit["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert request_body == "#/components/schemas/CertificateRequestSubmitInputRequest"


def test_ca_schema_generates_without_warnings_or_errors():
    GENERATOR_STATS.reset()
    with GENERATOR_STATS.silence():
        _ca_schema()
    assert dict(GENERATOR_STATS._warn_cache) == {}
    assert dict(GENERATOR_STATS._error_cache) == {}


def test_swagger_ui_uses_only_local_assets(db):
    response = APIClient().get("/api/docs/")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/html; charset=utf-8"
    html = response.content.decode()
    assert _external_asset_urls(html) == []
    assets = _local_assets(html)
    assert "drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in assets
    for asset in assets:
        assert finders.find(asset), asset
    assert "/api/schema/" in html


def test_redoc_uses_only_local_assets(db):
    response = APIClient().get("/api/redoc/")
    assert response.status_code == 200
    html = response.content.decode()
    assert _external_asset_urls(html) == []


def test_redoc_loads_its_bundle_locally(db):
    html = APIClient().get("/api/redoc/").content.decode()
    assets = _local_assets(html)
    assert assets == ["drf_spectacular_sidecar/redoc/bundles/redoc.standalone.js"]
    assert finders.find(assets[0])
    assert 'spec-url="/api/schema/"' in html
