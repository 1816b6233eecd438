"""/api/v1/certificate-authorities/: read, publish templates, chain and CRL downloads, permissions."""

from __future__ import annotations

import pytest

from cryptography import x509

from rest_framework.test import APIClient

from access.services.tokens import api_token_create
from ca.models import CertificateRevocationList, CertificateTemplate

URL = "/api/v1/certificate-authorities/"
VIEW = "ca.view_certificateauthority"
CHANGE = "ca.change_certificateauthority"


def test_anonymous_is_unauthorized(pki):
    client = APIClient()
    for url in (URL, f"{URL}test-issuing/", f"{URL}test-issuing/chain/", f"{URL}test-issuing/crl/"):
        response = client.get(url)
        assert response.status_code == 401, url
        assert response["WWW-Authenticate"] == "Token"
    assert client.patch(f"{URL}test-issuing/", {"enabled": False}, format="json").status_code == 401


def test_bad_token_is_unauthorized(pki):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token " + "0" * 40)
    assert client.get(URL).status_code == 401


def test_user_without_permissions_is_forbidden(pki, api_client_for):
    client = api_client_for()
    assert client.get(URL).status_code == 403
    assert client.get(f"{URL}test-issuing/").status_code == 403
    assert client.get(f"{URL}test-issuing/chain/").status_code == 403


def test_token_authentication_lists_the_cas(pki, user_with_perms):
    user = user_with_perms(VIEW)
    client = APIClient()
    client.credentials(
        HTTP_AUTHORIZATION=f"Token {api_token_create(user=user, name='test', created_by=None).secret}"
    )
    response = client.get(URL)
    assert response.status_code == 200
    assert response.json()["count"] == 2
    assert [ca["slug"] for ca in response.json()["results"]] == ["test-issuing", "test-root"]


def test_session_authentication_lists_the_cas(pki, user_with_perms):
    user_with_perms(VIEW, username="session-user")
    client = APIClient()
    assert client.login(username="session-user", password="secret-pw")
    response = client.get(URL)
    assert response.status_code == 200
    assert response.json()["count"] == 2


def test_session_authenticated_writes_need_the_csrf_token(pki, user_with_perms):
    user_with_perms(VIEW, CHANGE, username="session-user")
    client = APIClient(enforce_csrf_checks=True)
    assert client.login(username="session-user", password="secret-pw")
    response = client.patch(f"{URL}test-issuing/", {"enabled": False}, format="json")
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]


def test_detail_by_slug(pki, api_client_for):
    response = api_client_for(VIEW).get(f"{URL}test-issuing/")
    assert response.status_code == 200
    data = response.json()
    assert data["slug"] == "test-issuing"
    assert data["parent"] == "test-root"
    assert data["is_root"] is False
    assert data["subject"] == "CN=Test Issuing CA,O=certportal tests"
    assert data["serial"] == pki.issuing.serial
    assert data["fingerprint_sha256"] == pki.issuing.fingerprint_sha256
    assert (data["key_type"], data["key_size"], data["key_backend"]) == ("RSA", 2048, "default")
    assert data["published_templates"] == ["TestClientAuth"]
    assert data["crl_url"] == "http://127.0.0.1:8000/crl/test-issuing.crl"
    assert x509.load_pem_x509_certificate(data["certificate_pem"].encode()) == pki.issuing.certificate


def test_key_reference_is_never_exposed(pki, api_client_for):
    client = api_client_for(VIEW)
    for body in (client.get(URL).content, client.get(f"{URL}test-issuing/").content):
        assert b"key_reference" not in body
        assert b"ENCRYPTED PRIVATE KEY" not in body


def test_unknown_slug_is_404(pki, api_client_for):
    assert api_client_for(VIEW).get(f"{URL}nope/").status_code == 404


def test_filter_by_enabled(pki, api_client_for):
    pki.root.enabled = False
    pki.root.save()
    response = api_client_for(VIEW).get(URL, {"enabled": "false"})
    assert [ca["slug"] for ca in response.json()["results"]] == ["test-root"]


def test_chain_action_returns_the_pem_chain(pki, api_client_for):
    response = api_client_for(VIEW).get(f"{URL}test-issuing/chain/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pem-certificate-chain"
    assert x509.load_pem_x509_certificates(response.content) == [
        pki.issuing.certificate,
        pki.root.certificate,
    ]


def test_crl_action_returns_the_latest_crl_as_der(pki, api_client_for):
    response = api_client_for(VIEW).get(f"{URL}test-issuing/crl/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pkix-crl"
    assert response.content == bytes(pki.issuing.crls.latest().der)
    crl = x509.load_der_x509_crl(response.content)
    assert crl.is_signature_valid(pki.issuing.certificate.public_key())


def test_crl_action_without_a_crl_is_404(pki, api_client_for):
    CertificateRevocationList.objects.filter(authority=pki.issuing).delete()
    response = api_client_for(VIEW).get(f"{URL}test-issuing/crl/")
    assert response.status_code == 404
    assert response.json() == {"detail": "no CRL has been published for this CA yet"}


def test_patch_published_templates(pki, api_client_for):
    CertificateTemplate.objects.create(name="Wifi", display_name="Wi-Fi")
    client = api_client_for(VIEW, CHANGE)
    response = client.patch(
        f"{URL}test-issuing/", {"published_templates": ["Wifi", "TestClientAuth"]}, format="json"
    )
    assert response.status_code == 200, response.content
    assert sorted(response.json()["published_templates"]) == ["TestClientAuth", "Wifi"]
    assert sorted(pki.issuing.published_templates.values_list("name", flat=True)) == [
        "TestClientAuth",
        "Wifi",
    ]
    response = client.patch(f"{URL}test-issuing/", {"published_templates": []}, format="json")
    assert response.status_code == 200
    assert pki.issuing.published_templates.count() == 0


def test_patch_with_an_unknown_template_is_a_field_error(pki, api_client_for):
    response = api_client_for(VIEW, CHANGE).patch(
        f"{URL}test-issuing/", {"published_templates": ["Nope"]}, format="json"
    )
    assert response.status_code == 400
    assert list(response.json()) == ["published_templates"]
    assert list(pki.issuing.published_templates.values_list("name", flat=True)) == ["TestClientAuth"]


def test_patch_needs_the_change_permission(pki, api_client_for):
    response = api_client_for(VIEW).patch(f"{URL}test-issuing/", {"published_templates": []}, format="json")
    assert response.status_code == 403
    assert pki.issuing.published_templates.count() == 1


def test_patch_ignores_read_only_identity_fields(pki, api_client_for):
    response = api_client_for(VIEW, CHANGE).patch(
        f"{URL}test-issuing/",
        {"slug": "renamed", "name": "Renamed", "serial": "01", "enabled": False},
        format="json",
    )
    assert response.status_code == 200
    pki.issuing.refresh_from_db()
    assert (pki.issuing.slug, pki.issuing.name, pki.issuing.enabled) == (
        "test-issuing",
        "Test Issuing CA",
        False,
    )


@pytest.mark.parametrize(
    ("field", "value"), [("crl_validity_hours", 0), ("crl_url", "not a url"), ("signature_hash", "md5")]
)
def test_patch_with_invalid_values_is_a_field_error(pki, api_client_for, field, value):
    response = api_client_for(VIEW, CHANGE).patch(f"{URL}test-issuing/", {field: value}, format="json")
    assert response.status_code == 400
    assert list(response.json()) == [field]


def test_cas_cannot_be_created_or_deleted_through_the_api(pki, api_client_for):
    client = api_client_for(VIEW, CHANGE, "ca.add_certificateauthority", "ca.delete_certificateauthority")
    assert client.post(URL, {"name": "x", "slug": "x"}, format="json").status_code == 405
    assert client.delete(f"{URL}test-issuing/").status_code == 405
