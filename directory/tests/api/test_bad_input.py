"""What is not text never gets into the directory: a 400 (API) or a row error (import) with the reason,
never a 500, a partial write or a value that corrupts the payloads built from it later.
"""

import json

import pytest

from django.core.files.uploadedfile import SimpleUploadedFile

from directory.models import Device, DirectoryUser, Group, ImportJob
from directory.tests.factories import DeviceFactory, DirectoryUserFactory, GroupFactory

pytestmark = [pytest.mark.django_db, pytest.mark.urls("directory.tests.urls")]

BAD = [
    ("jd\uffffoe", "U+FFFF at position 3"),  # made the .mobileconfig malformed and windows-csp a 500
    ("jd\ufffeoe", "U+FFFE at position 3"),
    ("half \ud800", "U+D800 at position 6"),  # a lone surrogate: not UTF-8, a 500 at save time
    ("Fi\x00nance", "U+0000 at position 3"),  # PostgreSQL refuses NUL in text
    ("two\nlines", "U+000A at position 4"),
    ("bell\x07", "U+0007 at position 5"),
]


def _raw(body: object) -> str:
    """JSON as a client may send it: lone surrogates as \\ud800 escapes (json.dumps writes them so)."""
    return json.dumps(body)


@pytest.mark.parametrize(("value", "message"), BAD)
@pytest.mark.parametrize(
    "field", ["display_name", "user_name", "department", "on_premises_distinguished_name"]
)
def test_a_user_attribute_that_is_not_text_is_a_400(admin_api, field, value, message):
    user = DirectoryUserFactory.create(display_name="Jane")
    response = admin_api.patch(
        f"/api/v1/users/{user.pk}/", _raw({field: value}), content_type="application/json"
    )
    assert response.status_code == 400, response.content
    assert list(response.json()) == [field]
    assert message in response.json()[field][0]
    assert DirectoryUser.objects.get(pk=user.pk).display_name == "Jane"


@pytest.mark.parametrize("value", ["PC-1\r\nX-Injected: 1", "PC-1\nPC-2", "a\tb", 'a"b\x00'])
def test_a_device_external_id_with_cr_lf_or_control_characters_is_a_400(admin_api, value):
    device = DeviceFactory.create(external_id="PC-1")
    response = admin_api.patch(
        f"/api/v1/devices/{device.pk}/", _raw({"external_id": value}), content_type="application/json"
    )
    assert response.status_code == 400
    assert "external_id" in response.json()
    assert Device.objects.get(pk=device.pk).external_id == "PC-1"
    response = admin_api.post(
        "/api/v1/devices/",
        _raw({"external_id": value, "name": "New", "platform": "ios"}),
        content_type="application/json",
    )
    assert response.status_code == 400
    assert Device.objects.count() == 1


def test_a_group_description_may_span_lines_but_not_its_name(admin_api):
    body = {"external_id": "g1", "name": "Staff", "kind": "user", "description": "Everyone.\nReally.\tAll."}
    assert admin_api.post("/api/v1/groups/", body, format="json").status_code == 201
    response = admin_api.post(
        "/api/v1/groups/", {**body, "external_id": "g2", "name": "Sta\nff"}, format="json"
    )
    assert response.status_code == 400
    assert "U+000A at position 4" in response.json()["name"][0]
    assert list(Group.objects.values_list("external_id", flat=True)) == ["g1"]


@pytest.fixture
def imported(admin_api, django_capture_on_commit_callbacks):
    """``imported(data, format)``: the import job, once it ran."""

    def _import(data, format="multipart"):
        with django_capture_on_commit_callbacks(execute=True):
            if format == "json":  # written by json.dumps: lone surrogates as escapes, as a client sends them
                response = admin_api.post(
                    "/api/v1/directory-import/", _raw(data), content_type="application/json"
                )
            else:
                response = admin_api.post("/api/v1/directory-import/", data, format=format)
        assert response.status_code == 202, response.content
        return ImportJob.objects.get(pk=response.json()["id"])

    return _import


def test_a_nul_byte_in_a_csv_cell_is_a_row_error_not_an_aborted_import(imported):
    """PostgreSQL refuses NUL in text: it aborted the whole import (a 500)."""
    content = (
        b"external_id,user_principal_name,department\n"
        b"u1,jane@corp.example.com,Finance\n"
        b"u2,joe@corp.example.com,Sa\x00les\n"
        b"u3,max@corp.example.com,Sales \xef\xbf\xbf\n"  # U+FFFF, valid UTF-8
        b"u4,eve@corp.example.com,IT\n"
    )
    job = imported({"file": SimpleUploadedFile("users.csv", content, content_type="text/csv")})
    assert (job.status, job.created, job.failed) == ("done", 2, 2)
    assert [(error["row"], error["external_id"], list(error["errors"])) for error in job.errors] == [
        (3, "u2", ["department"]),
        (4, "u3", ["department"]),
    ]
    assert "U+0000 at position 3" in job.errors[0]["errors"]["department"][0]
    assert "U+FFFF at position 7" in job.errors[1]["errors"]["department"][0]
    assert set(DirectoryUser.objects.values_list("external_id", flat=True)) == {"u1", "u4"}


def test_nested_values_and_lone_surrogates_in_json_rows_are_row_errors(imported):
    rows = [
        {
            "external_id": "u1",
            "user_principal_name": "jane@corp.example.com",
            "display_name": {"first": "Jane"},
        },
        {"external_id": "u2", "user_principal_name": ["joe@corp.example.com"]},
        {"external_id": "u3", "user_principal_name": "max@corp.example.com", "display_name": "Max \ud83d"},
        {"external_id": {"id": "u4"}, "user_principal_name": "eve@corp.example.com"},
        {"external_id": "u5", "user_principal_name": "amy@corp.example.com", "enabled": [True]},
        {"external_id": "u6", "user_principal_name": "ok@corp.example.com", "display_name": "Okay"},
    ]
    job = imported({"kind": "users", "rows": rows}, "json")
    assert (job.status, job.created, job.failed) == ("done", 1, 5)
    assert [(error["row"], error["external_id"], error["errors"]) for error in job.errors] == [
        (1, "u1", {"display_name": ["Enter text, not a JSON object or list."]}),
        (2, "u2", {"user_principal_name": ["Enter text, not a JSON object or list."]}),
        (3, "u3", {"display_name": [
            "Remove U+D83D at position 5: it is half of a UTF-16 surrogate pair, not a character, which the "
            "directory does not store (certificates and device payloads cannot carry it)."
        ]}),
        (4, None, {"external_id": ["Enter text, not a JSON object or list."]}),
        (5, "u5", {"enabled": ["Enter true/false, yes/no or 1/0."]}),
    ]  # fmt: skip
    assert list(DirectoryUser.objects.values_list("external_id", flat=True)) == ["u6"]


def test_nested_members_are_a_row_error(imported):
    DirectoryUserFactory.create(external_id="u1")
    groups = [
        {"external_id": "g1", "name": "Staff", "kind": "user", "members": [{"external_id": "u1"}]},
        {"external_id": "g2", "name": "Staff", "kind": "user", "members": [["u1"]]},
        {"external_id": "g3", "name": "Staff", "kind": "user", "members": ["u1"]},
    ]
    job = imported({"groups": groups}, "json")
    assert (job.created, job.failed) == (1, 2)
    assert [error["errors"] for error in job.errors] == [
        {"members": ["Enter text, not a JSON object or list."]},
        {"members": ["Enter text, not a JSON object or list."]},
    ]


def test_a_member_reference_that_is_not_text_is_a_400(admin_api):
    group = GroupFactory.create()
    for members in (["u1\uffff"], ["u1\x00"], ["u\n1"]):
        response = admin_api.put(
            f"/api/v1/groups/{group.pk}/members/", _raw({"members": members}), content_type="application/json"
        )
        assert response.status_code == 400
        assert "members" in response.json()
