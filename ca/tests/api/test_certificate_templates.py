"""/api/v1/certificate-templates/: CRUD with field-level validation of the template's rules."""

from __future__ import annotations

import pytest

from rest_framework.test import APIClient

from ca.models import CertificateTemplate

URL = "/api/v1/certificate-templates/"
ALL = (
    "ca.view_certificatetemplate",
    "ca.add_certificatetemplate",
    "ca.change_certificatetemplate",
    "ca.delete_certificatetemplate",
)
#: Every update through the API is refused today; see the reason.
NEW = {"name": "WebServer", "display_name": "Web server", "application_policies": ["1.3.6.1.5.5.7.3.1"]}


@pytest.fixture
def client(api_client_for):
    return api_client_for(*ALL)


def test_anonymous_is_unauthorized(template):
    assert APIClient().get(URL).status_code == 401
    assert APIClient().post(URL, NEW, format="json").status_code == 401


def test_list_needs_the_view_permission(template, api_client_for):
    assert api_client_for().get(URL).status_code == 403
    response = api_client_for("ca.view_certificatetemplate").get(URL)
    assert response.status_code == 200
    assert [t["name"] for t in response.json()["results"]] == ["TestClientAuth"]


def test_detail_by_name(template, client):
    response = client.get(f"{URL}TestClientAuth/")
    assert response.status_code == 200
    data = response.json()
    assert data["display_name"] == "Test client authentication"
    assert data["purpose"] == "signature_and_encryption"
    assert data["ndes_registry_value"] == "GeneralPurposeTemplate"
    assert data["application_policies"] == ["1.3.6.1.5.5.7.3.2"]
    assert data["application_policy_names"] == ["Client Authentication"]
    assert data["allowed_signature_hashes"] == ["sha256", "sha384", "sha512"]
    assert (data["min_rsa_key_size"], data["min_ec_key_size"], data["validity_days"]) == (2048, 256, 365)


def test_create(db, client):
    response = client.post(URL, NEW, format="json")
    assert response.status_code == 201, response.content
    template = CertificateTemplate.objects.get(name="WebServer")
    assert template.application_policies == ["1.3.6.1.5.5.7.3.1"]
    assert response.json()["application_policy_names"] == ["Server Authentication"]


def test_create_needs_the_add_permission(db, api_client_for):
    assert api_client_for("ca.view_certificatetemplate").post(URL, NEW, format="json").status_code == 403
    assert CertificateTemplate.objects.count() == 0


def test_create_with_custom_oids_names_them_by_oid(db, client):
    response = client.post(
        URL, {**NEW, "application_policies": ["1.3.6.1.4.1.99999.7", "1.3.6.1.5.5.7.3.2"]}, format="json"
    )
    assert response.status_code == 201
    assert response.json()["application_policy_names"] == ["1.3.6.1.4.1.99999.7", "Client Authentication"]


@pytest.mark.parametrize(
    ("fields", "error_field", "message"),
    [
        ({"application_policies": ["1.3.6.1.5.5.7.3.x"]}, "application_policies", "is not a dotted OID"),
        ({"application_policies": ["client-auth"]}, "application_policies", "is not a dotted OID"),
        ({"application_policies": ["1.2.3", "1.2.3"]}, "application_policies", "Each OID may appear once."),
        ({"application_policies": "1.2.3"}, "application_policies", "Enter a list of OIDs."),
        ({"application_policies": [1, 2]}, "application_policies", "Enter a list of OIDs."),
        ({"allowed_signature_hashes": []}, "allowed_signature_hashes", ""),
        ({"allowed_signature_hashes": ["sha1"]}, "allowed_signature_hashes", "Choose one or more of"),
        (
            {"allowed_signature_hashes": ["sha256", "md5"]},
            "allowed_signature_hashes",
            "Choose one or more of",
        ),
        ({"purpose": "encryption", "key_encipherment": False}, "key_encipherment", "needs key encipherment"),
        (
            {"purpose": "signature", "digital_signature": False},
            "digital_signature",
            "needs digital signature",
        ),
        (
            {"digital_signature": False, "key_encipherment": False},
            "digital_signature",
            "Choose digital signature",
        ),
        ({"purpose": "everything"}, "purpose", "is not a valid choice"),
        ({"validity_days": 0}, "validity_days", ""),
        ({"min_rsa_key_size": 1024}, "min_rsa_key_size", ""),
        ({"min_ec_key_size": 192}, "min_ec_key_size", ""),
        ({"name": "has spaces"}, "name", ""),
    ],
)
def test_create_with_invalid_values_is_a_field_error(db, client, fields, error_field, message):
    response = client.post(URL, {**NEW, **fields}, format="json")
    assert response.status_code == 400, response.content
    errors = response.json()
    assert error_field in errors, errors
    assert message in " ".join(errors[error_field])
    assert CertificateTemplate.objects.count() == 0


def test_duplicate_name_is_a_field_error(template, client):
    response = client.post(URL, {**NEW, "name": "TestClientAuth"}, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["name"]
    assert CertificateTemplate.objects.count() == 1


def test_patch(template, client):
    response = client.patch(
        f"{URL}TestClientAuth/",
        {"validity_days": 30, "non_repudiation": True, "requires_approval": True},
        format="json",
    )
    assert response.status_code == 200, response.content
    template.refresh_from_db()
    assert (template.validity_days, template.non_repudiation, template.requires_approval) == (30, True, True)


def test_patch_checks_the_rules_against_the_stored_values(template, client):
    # The stored template has key_encipherment; turning it off for an encryption purpose is refused.
    assert client.patch(f"{URL}TestClientAuth/", {"purpose": "encryption"}, format="json").status_code == 200
    response = client.patch(f"{URL}TestClientAuth/", {"key_encipherment": False}, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["key_encipherment"]
    template.refresh_from_db()
    assert template.key_encipherment is True


def test_patch_with_a_bad_oid_leaves_the_template_unchanged(template, client):
    response = client.patch(f"{URL}TestClientAuth/", {"application_policies": ["1..2"]}, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["application_policies"]
    template.refresh_from_db()
    assert template.application_policies == ["1.3.6.1.5.5.7.3.2"]


def test_put_replaces_the_template(template, client):
    body = {**NEW, "name": "TestClientAuth", "validity_days": 90, "allowed_signature_hashes": ["sha512"]}
    response = client.put(f"{URL}TestClientAuth/", body, format="json")
    assert response.status_code == 200, response.content
    template.refresh_from_db()
    assert template.validity_days == 90
    assert template.allowed_signature_hashes == ["sha512"]
    assert template.application_policies == ["1.3.6.1.5.5.7.3.1"]


def test_patch_needs_the_change_permission(template, api_client_for):
    client = api_client_for("ca.view_certificatetemplate")
    assert client.patch(f"{URL}TestClientAuth/", {"validity_days": 1}, format="json").status_code == 403
    template.refresh_from_db()
    assert template.validity_days == 365


def test_delete_an_unused_template(template, client):
    assert client.delete(f"{URL}TestClientAuth/").status_code == 204
    assert CertificateTemplate.objects.count() == 0


def test_delete_needs_the_delete_permission(template, api_client_for):
    client = api_client_for("ca.view_certificatetemplate", "ca.change_certificatetemplate")
    assert client.delete(f"{URL}TestClientAuth/").status_code == 403
    assert CertificateTemplate.objects.count() == 1


def test_deleting_a_template_in_use_is_a_client_error(issued, client):
    client.raise_request_exception = False
    response = client.delete(f"{URL}TestClientAuth/")
    assert 400 <= response.status_code < 500, response.status_code
    assert CertificateTemplate.objects.filter(name="TestClientAuth").exists()
