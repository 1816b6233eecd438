"""/api/v1/trusted-root-profiles/: CRUD, uploads (PEM or base64 DER) or one of our CAs, field errors."""

from __future__ import annotations

import base64

import pytest

from cryptography.hazmat.primitives.serialization import Encoding

from rest_framework.test import APIClient

from profiles.models import TrustedRootProfile
from profiles.tests.certificates import self_signed_leaf

URL = "/api/v1/trusted-root-profiles/"


@pytest.fixture
def api(admin_user) -> APIClient:
    client = APIClient()
    client.force_authenticate(admin_user)
    return client


def test_create_from_one_of_our_cas(api, pki):
    response = api.post(
        URL, {"name": "Root (iOS)", "platform": "ios", "authority": "test-root"}, format="json"
    )

    assert response.status_code == 201, response.data
    body = response.json()
    assert body["authority"] == "test-root"
    assert body["thumbprint_sha1"] == pki.root.fingerprint_sha1
    assert body["subject"] == "CN=Test Root CA,O=certportal tests"
    assert body["certificate_pem"] == pki.root.certificate.public_bytes(Encoding.PEM).decode("ascii")
    assert body["certificate_file_name"] == "Root (iOS).cer"
    assert body["version"] == 1
    assert "certificate" not in body
    assert bytes(TrustedRootProfile.objects.get(pk=body["id"]).certificate_der) == pki.root.certificate_der


@pytest.mark.parametrize("encoding", ["pem", "der"])
def test_create_from_an_uploaded_certificate(api, db, crypto_chain, encoding):
    if encoding == "pem":
        text = crypto_chain.root.public_bytes(Encoding.PEM).decode("ascii")
    else:
        text = base64.b64encode(crypto_chain.root.public_bytes(Encoding.DER)).decode("ascii")

    response = api.post(
        URL,
        {
            "name": "Partner root",
            "platform": "windows_10",
            "certificate": text,
            "certificate_file_name": "partner.cer",
        },
        format="json",
    )

    assert response.status_code == 201, response.data
    body = response.json()
    assert body["authority"] is None
    assert body["subject"] == "CN=Crypto Root,O=certportal tests"
    assert body["destination_store"] == "computerCertStoreRoot"
    assert body["certificate_file_name"] == "partner.cer"
    profile = TrustedRootProfile.objects.get(pk=body["id"])
    assert bytes(profile.certificate_der) == crypto_chain.root.public_bytes(Encoding.DER)


@pytest.mark.parametrize(
    ("payload", "errors"),
    [
        pytest.param(
            {"name": "None", "platform": "ios"},
            {"certificate": ["choose one of our CAs (authority) or give a certificate"]},
            id="neither CA nor certificate",
        ),
        pytest.param(
            {"name": "Junk", "platform": "ios", "certificate": "not base64 !"},
            {"certificate": ["give PEM, or base64 of the DER file"]},
            id="not base64",
        ),
        pytest.param(
            {"name": "Unknown CA", "platform": "ios", "authority": "nope"},
            {"authority": ["Object with slug=nope does not exist."]},
            id="unknown CA",
        ),
        pytest.param(
            {"name": "Bad platform", "platform": "symbian", "authority": "test-root"},
            {"platform": ['"symbian" is not a valid choice.']},
            id="unknown platform",
        ),
    ],
)
def test_field_errors(api, pki, payload, errors):
    response = api.post(URL, payload, format="json")
    assert response.status_code == 400
    assert response.json() == errors


def test_base64_that_is_not_a_certificate_is_a_field_error(api, db):
    response = api.post(
        URL,
        {"name": "Junk", "platform": "ios", "certificate": base64.b64encode(b"junk").decode()},
        format="json",
    )
    assert response.status_code == 400
    (message,) = response.json()["certificate"]
    assert message.startswith("not an X.509 certificate (DER or PEM): ")


def test_a_non_ca_certificate_is_refused_on_the_certificate_field(api, db, rsa2048_key):
    leaf = self_signed_leaf(rsa2048_key).public_bytes(Encoding.PEM).decode("ascii")
    response = api.post(URL, {"name": "Leaf", "platform": "ios", "certificate": leaf}, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "certificate": ["a trusted certificate profile carries a CA certificate (CA:TRUE)"]
    }


def test_a_non_ca_certificate_is_refused(api, db, rsa2048_key):
    leaf = self_signed_leaf(rsa2048_key).public_bytes(Encoding.PEM).decode("ascii")
    response = api.post(URL, {"name": "Leaf", "platform": "ios", "certificate": leaf}, format="json")
    assert response.status_code == 400
    assert "a trusted certificate profile carries a CA certificate (CA:TRUE)" in str(response.json())
    assert not TrustedRootProfile.objects.exists()


def test_one_profile_per_root_and_platform(api, root_profile):
    response = api.post(
        URL, {"name": "Same root", "platform": "ios", "authority": "test-root"}, format="json"
    )
    assert response.status_code == 400
    # FullCleanMixin passes Django's NON_FIELD_ERRORS key ("__all__") through, not DRF's "non_field_errors".
    assert response.json() == {
        "__all__": ["Trusted certificate profile with this Platform and Thumbprint sha1 already exists."]
    }


def test_update_bumps_the_version(api, root_profile):
    response = api.patch(f"{URL}{root_profile.pk}/", {"description": "the corporate root"}, format="json")

    assert response.status_code == 200, response.data
    assert response.json()["version"] == 2
    assert response.json()["description"] == "the corporate root"


def test_list_filters_by_platform(api, pki, root_profile):
    api.post(URL, {"name": "Root (Android)", "platform": "android", "authority": "test-root"}, format="json")

    response = api.get(URL, {"platform": "android"})

    assert response.status_code == 200
    assert [item["name"] for item in response.json()["results"]] == ["Root (Android)"]


def test_delete_an_unused_profile(api, root_profile):
    assert api.delete(f"{URL}{root_profile.pk}/").status_code == 204
    assert not TrustedRootProfile.objects.exists()


def test_delete_of_a_profile_a_scep_profile_uses_is_a_conflict(api, scep_profile, root_profile):
    response = api.delete(f"{URL}{root_profile.pk}/")
    assert response.status_code == 409
    assert response.json() == {
        "detail": "still in use by SCEP certificate profiles; remove those first",
        "code": "protected",
    }
