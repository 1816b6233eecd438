"""/api/v1/scep-profiles/: CRUD with the save-time rules as 400 field errors (never 500), version, preview."""

from __future__ import annotations

from typing import Any

import pytest

from rest_framework.test import APIClient

from directory.tests.factories import DeviceFactory
from profiles.models import ScepProfile
from profiles.tests.fixtures import SCEP_URL

URL = "/api/v1/scep-profiles/"


@pytest.fixture
def api(admin_user) -> APIClient:
    client = APIClient()
    client.force_authenticate(admin_user)
    return client


@pytest.fixture
def payload(pki, root_profile) -> dict[str, Any]:
    return {
        "name": "iOS user certificate",
        "platform": "ios",
        "certificate_type": "user",
        "subject_name_format": "custom",
        "subject_name_format_string": "CN={{UserName}},E={{EmailAddress}},OU=Mobile,O=Finance Group,C=US",
        "subject_alternative_names": [{"type": "upn", "value": "{{UserPrincipalName}}"}],
        "hash_algorithms": [],
        "key_size": 2048,
        "root_profile": root_profile.pk,
        "authority": "test-issuing",
        "template": "TestClientAuth",
        "scep_server_urls": [SCEP_URL],
    }


def test_create(api, payload, root_profile):
    response = api.post(URL, payload, format="json")

    assert response.status_code == 201, response.data
    body = response.json()
    assert body["version"] == 1
    assert (body["authority"], body["template"], body["root_profile"]) == (
        "test-issuing",
        "TestClientAuth",
        root_profile.pk,
    )
    assert body["extended_key_usages"] == [{"name": "Client Authentication", "oid": "1.3.6.1.5.5.7.3.2"}]
    assert body["renewal_threshold_percentage"] == 20
    assert body["validity_days"] is None
    assert (
        ScepProfile.objects.get(pk=body["id"]).subject_name_format_string
        == payload["subject_name_format_string"]
    )


@pytest.mark.parametrize(
    ("change", "errors"),
    [
        pytest.param(
            {"subject_name_format_string": "CN={{Nope}}"},
            {"subject_name_format_string": ["unknown variable {{Nope}} in the CN value"]},
            id="unknown variable",
        ),
        pytest.param(
            {"subject_alternative_names": [{"type": "dns", "value": "a|b.example.com"}]},
            {
                "subject_alternative_names": [
                    "'|' is not allowed in the static text of the DNS subject alternative name (entry 1)"
                ]
            },
            id="pipe in SAN",
        ),
        pytest.param(
            {"subject_alternative_names": "upn"},
            {"subject_alternative_names": ["enter a list of {type, value} entries"]},
            id="SANs not a list",
        ),
        pytest.param(
            {"subject_alternative_names": [{"type": "x400", "value": "x"}]},
            {"subject_alternative_names": ["entry 1: type must be one of email, upn, dns, uri"]},
            id="unknown SAN type",
        ),
        pytest.param(
            {"key_size": 1234}, {"key_size": ['"1234" is not a valid choice.']}, id="key size not offered"
        ),
        pytest.param(
            {"key_size": 1024},
            {"key_size": ["template TestClientAuth requires RSA keys of at least 2048 bits"]},
            id="key size below the template",
        ),
        pytest.param(
            {"key_storage_provider": "useSoftwareKsp"},
            {"key_storage_provider": ["the key storage provider applies to Windows only"]},
            id="KSP on iOS",
        ),
        pytest.param(
            {"validity_value": 1, "validity_scale": "years"},
            {"validity_value": ["iOS and macOS always use the validity period of the certificate template"]},
            id="validity on iOS",
        ),
        pytest.param(
            {"hash_algorithms": ["sha2"]},
            {"hash_algorithms": ["iOS has no hash algorithm setting; leave it empty"]},
            id="hash on iOS",
        ),
        pytest.param(
            {"extended_key_usages": [{"name": "x", "oid": "not-an-oid"}]},
            {"extended_key_usages": ['enter a list of {"name": ..., "oid": "1.3.6.1.5.5.7.3.2"}']},
            id="EKU not an OID",
        ),
        pytest.param(
            {"scep_server_urls": []},
            {"scep_server_urls": ["enter one or more SCEP server URLs"]},
            id="no URL",
        ),
        pytest.param(
            {"scep_server_urls": ["ftp://scep.example"]},
            {"scep_server_urls": ["'ftp://scep.example' is not an http(s) URL"]},
            id="not http",
        ),
        pytest.param(
            {"renewal_threshold_percentage": 0},
            {"renewal_threshold_percentage": ["Ensure this value is greater than or equal to 1."]},
            id="renewal threshold",
        ),
        pytest.param(
            {"root_profile": 999999},
            {"root_profile": ['Invalid pk "999999" - object does not exist.']},
            id="no root",
        ),
        pytest.param(
            {"template": "Nope"},
            {"template": ["Object with name=Nope does not exist."]},
            id="unknown template",
        ),
        pytest.param({"authority": None}, {"authority": ["This field may not be null."]}, id="no CA"),
        pytest.param(
            {"authority": "test-root"},
            {"template": ["CA Test Root CA does not issue template TestClientAuth"]},
            id="CA that does not publish the template",
        ),
    ],
)
def test_rules_answer_as_400_field_errors(api, payload, change, errors):
    response = api.post(URL, {**payload, **change}, format="json")

    assert response.status_code == 400, response.content
    assert response.json() == errors
    assert not ScepProfile.objects.exists()


def test_the_rules_on_the_profile_and_on_its_template_answer_together(api, payload):
    response = api.post(
        URL, {**payload, "key_storage_provider": "useSoftwareKsp", "key_size": 1024}, format="json"
    )

    assert response.status_code == 400, response.content
    assert response.json() == {
        "key_storage_provider": ["the key storage provider applies to Windows only"],
        "key_size": ["template TestClientAuth requires RSA keys of at least 2048 bits"],
    }
    assert not ScepProfile.objects.exists()


def test_malformed_hash_algorithms_are_a_400_not_a_500(api, payload):
    response = api.post(URL, {**payload, "platform": "android", "hash_algorithms": [["sha2"]]}, format="json")
    assert response.status_code == 400


def test_an_unknown_validity_scale_is_a_400(api, payload):
    response = api.post(URL, {**payload, "validity_value": 3, "validity_scale": "weeks"}, format="json")
    assert response.status_code == 400
    assert response.json() == {"validity_scale": ['"weeks" is not a valid choice.']}


def test_update_bumps_the_version(api, scep_profile):
    response = api.patch(f"{URL}{scep_profile.pk}/", {"key_size": 4096}, format="json")

    assert response.status_code == 200, response.data
    assert (response.json()["version"], response.json()["key_size"]) == (2, 4096)
    scep_profile.refresh_from_db()
    assert (scep_profile.version, scep_profile.key_size) == (2, 4096)


def test_an_invalid_update_is_a_400_and_changes_nothing(api, scep_profile):
    response = api.patch(f"{URL}{scep_profile.pk}/", {"subject_name_format_string": "CN={x}"}, format="json")

    assert response.status_code == 400
    assert list(response.json()) == ["subject_name_format_string"]
    scep_profile.refresh_from_db()
    assert (scep_profile.version, scep_profile.subject_name_format_string) == (
        1,
        "CN={{UserName}},O=certportal tests",
    )


def test_list_and_filter(api, make_profile, pki, root_profile):
    make_profile(name="User")
    make_profile(
        name="Device",
        certificate_type="device",
        subject_name_format_string="CN={{SerialNumber}}",
        subject_alternative_names=[],
    )

    response = api.get(URL, {"certificate_type": "device"})

    assert response.status_code == 200
    assert [item["name"] for item in response.json()["results"]] == ["Device"]


def test_delete(api, scep_profile):
    assert api.delete(f"{URL}{scep_profile.pk}/").status_code == 204
    assert not ScepProfile.objects.exists()


def test_preview_renders_for_a_device_without_issuing(api, scep_profile, device):
    response = api.get(f"{URL}{scep_profile.pk}/preview/", {"device": device.external_id})

    assert response.status_code == 200
    assert response.json() == {
        "device": device.external_id,
        "subject": "O=certportal tests,CN=jdoe",
        "subject_alternative_names": ["UPN:jdoe@corp.example.com"],
    }
    assert not scep_profile.challenges.exists()


def test_preview_gives_the_reason_when_a_variable_is_missing(api, make_profile, device):
    profile = make_profile(subject_name_format_string="CN={{IMEI}}")
    device.imei = ""
    device.save()

    response = api.get(f"{URL}{profile.pk}/preview/", {"device": device.external_id})

    assert response.status_code == 400
    assert response.json() == {
        "device": device.external_id,
        "error": "device has no IMEI, required by {{IMEI}} in the subject",
    }


def test_preview_of_a_user_certificate_on_a_userless_device(api, scep_profile, db):
    shared = DeviceFactory.create(primary_user=None)

    response = api.get(f"{URL}{scep_profile.pk}/preview/", {"device": shared.external_id})

    assert response.status_code == 400
    assert response.json()["error"] == "a user certificate needs a device with a primary user"


@pytest.mark.parametrize(
    ("params", "errors"),
    [
        ({}, {"device": ["This field is required."]}),
        ({"device": "nope"}, {"device": ["Object with external_id=nope does not exist."]}),
    ],
)
def test_preview_needs_a_known_device(api, scep_profile, params, errors):
    response = api.get(f"{URL}{scep_profile.pk}/preview/", params)
    assert response.status_code == 400
    assert response.json() == errors
