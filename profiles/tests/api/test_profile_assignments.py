"""/api/v1/profile-assignments/: include/exclude a group, all users, all devices."""

from __future__ import annotations

import pytest

from rest_framework.test import APIClient

from profiles.models import ProfileAssignment

URL = "/api/v1/profile-assignments/"


@pytest.fixture
def api(admin_user) -> APIClient:
    client = APIClient()
    client.force_authenticate(admin_user)
    return client


def test_assign_a_scep_profile_to_a_group(api, scep_profile, user_group):
    response = api.post(
        URL, {"scep_profile": scep_profile.pk, "group": user_group.external_id}, format="json"
    )

    assert response.status_code == 201, response.data
    body = response.json()
    assert (body["scep_profile"], body["trusted_root_profile"], body["group"]) == (
        scep_profile.pk,
        None,
        user_group.external_id,
    )
    assert (body["target"], body["intent"]) == ("group", "include")
    assert ProfileAssignment.objects.get(pk=body["id"]).group == user_group


def test_assign_a_root_profile_to_all_devices(api, root_profile):
    response = api.post(
        URL, {"trusted_root_profile": root_profile.pk, "target": "all_devices", "group": None}, format="json"
    )
    assert response.status_code == 201, response.data
    assert response.json()["group"] is None


@pytest.mark.parametrize("target", ["all_users", "all_devices"])
def test_assign_to_all_users_or_all_devices_without_a_group_key(api, scep_profile, target):
    response = api.post(URL, {"scep_profile": scep_profile.pk, "target": target}, format="json")
    assert response.status_code == 201, response.data


def test_exclude_a_group(api, scep_profile, user_group):
    response = api.post(
        URL,
        {"scep_profile": scep_profile.pk, "group": user_group.external_id, "intent": "exclude"},
        format="json",
    )
    assert response.status_code == 201, response.data


@pytest.fixture
def post_assignment(api, scep_profile, root_profile, user_group):
    """POST an include of ``scep_profile`` for ``user_group``, with ``change`` ("ROOT": the root profile)."""

    def _post(change):
        payload = {
            "scep_profile": scep_profile.pk,
            "target": "group",
            "group": user_group.external_id,
            **change,
        }
        if payload.get("trusted_root_profile") == "ROOT":
            payload["trusted_root_profile"] = root_profile.pk
        return api.post(URL, payload, format="json")

    return _post


@pytest.mark.parametrize(
    ("change", "errors"),
    [
        pytest.param(
            {"target": "all_users", "intent": "exclude", "group": None},
            {"intent": ["only groups can be excluded"]},
            id="exclude all users",
        ),
        pytest.param(
            {"target": "all_devices", "intent": "exclude", "group": None},
            {"intent": ["only groups can be excluded"]},
            id="exclude all devices",
        ),
        pytest.param(
            {"target": "group", "group": None},
            {"group": ["choose the group to include or exclude"]},
            id="no group",
        ),
        pytest.param(
            {"target": "all_users"}, {"group": ["'All users' takes no group"]}, id="group with all users"
        ),
        pytest.param(
            {"scep_profile": None},
            {
                "scep_profile": [
                    "assign exactly one profile: a SCEP or PKCS profile, a trusted certificate profile or a "
                    "resource profile"
                ]
            },
            id="no profile",
        ),
        pytest.param(
            {"trusted_root_profile": "ROOT"},
            {
                "scep_profile": [
                    "assign exactly one profile: a SCEP or PKCS profile, a trusted certificate profile or a "
                    "resource profile"
                ]
            },
            id="two profiles",
        ),
        pytest.param(
            {"group": "nope"}, {"group": ["Object with external_id=nope does not exist."]}, id="unknown group"
        ),
    ],
)
def test_field_errors(post_assignment, change, errors):
    response = post_assignment(change)

    assert response.status_code == 400, response.content
    assert response.json() == errors
    assert not ProfileAssignment.objects.exists()


def test_assignments_are_not_edited_in_place(api, scep_profile, user_group):
    created = api.post(URL, {"scep_profile": scep_profile.pk, "group": user_group.external_id}, format="json")
    url = f"{URL}{created.json()['id']}/"

    assert api.patch(url, {"intent": "exclude"}, format="json").status_code == 405
    assert api.delete(url).status_code == 204
    assert not ProfileAssignment.objects.exists()


def test_list_filters_by_profile(api, scep_profile, root_profile, user_group):
    api.post(URL, {"scep_profile": scep_profile.pk, "group": user_group.external_id}, format="json")
    api.post(URL, {"trusted_root_profile": root_profile.pk, "group": user_group.external_id}, format="json")

    response = api.get(URL, {"scep_profile": scep_profile.pk})

    assert [item["scep_profile"] for item in response.json()["results"]] == [scep_profile.pk]
