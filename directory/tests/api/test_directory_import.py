"""/api/v1/directory-import/: file uploads and JSON bodies; 200 with row errors, 400 for file problems."""

import json

import pytest

from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from directory.models import Device, DirectoryUser, Group

pytestmark = [pytest.mark.django_db, pytest.mark.urls("directory.tests.urls")]

URL = "/api/v1/directory-import/"
IMPORTER = ("directory.add_directoryuser", "directory.add_device")
USERS_CSV = (
    b"external_id,user_principal_name,department\n"
    b"u1,jane@corp.example.com,Finance\n"
    b"u2,joe@corp.example.com,Sales\n"
)


def _upload(content, name="users.csv", **fields):
    return {"file": SimpleUploadedFile(name, content, content_type="text/csv"), **fields}


def test_multipart_csv_upload(client_for):
    response = client_for(*IMPORTER).post(URL, _upload(USERS_CSV), format="multipart")
    assert response.status_code == 200, response.json()
    assert response.json() == {
        "dry_run": False,
        "created": 2,
        "updated": 0,
        "unchanged": 0,
        "failed": 0,
        "by_kind": {"users": {"created": 2, "updated": 0, "unchanged": 0, "failed": 0}},
        "errors": [],
    }
    assert set(DirectoryUser.objects.values_list("external_id", flat=True)) == {"u1", "u2"}


def test_multipart_dry_run_writes_nothing(client_for):
    response = client_for(*IMPORTER).post(URL, _upload(USERS_CSV, dry_run="true"), format="multipart")
    assert response.status_code == 200
    assert (response.json()["dry_run"], response.json()["created"]) == (True, 2)
    assert not DirectoryUser.objects.exists()


def test_row_errors_answer_200_with_the_errors_and_apply_the_good_rows(client_for):
    content = USERS_CSV + b"u3,not-a-upn,IT\n"
    response = client_for(*IMPORTER).post(URL, _upload(content), format="multipart")
    assert response.status_code == 200
    data = response.json()
    assert (data["created"], data["failed"]) == (2, 1)
    assert data["errors"] == [
        {
            "kind": "users",
            "row": 4,
            "external_id": "u3",
            "errors": {"user_principal_name": ["Enter a user principal name such as jane@corp.example.com."]},
        }
    ]
    assert DirectoryUser.objects.count() == 2


def test_json_body_rows_with_kind(client_for):
    rows = [{"external_id": "d1", "name": "PC-1", "platform": "Windows 10 and later"}]
    response = client_for(*IMPORTER).post(
        URL, {"kind": "devices", "format": "json", "rows": rows}, format="json"
    )
    assert response.status_code == 200, response.json()
    assert response.json()["by_kind"] == {
        "devices": {"created": 1, "updated": 0, "unchanged": 0, "failed": 0}
    }
    assert Device.objects.get().platform == "windows_10"


def test_json_body_rows_kind_told_by_the_keys(client_for):
    rows = [{"external_id": "u1", "user_principal_name": "jane@corp.example.com"}]
    response = client_for(*IMPORTER).post(URL, {"rows": rows}, format="json")
    assert response.status_code == 200
    assert response.json()["by_kind"]["users"]["created"] == 1


def test_json_body_combined_and_json_file(admin_api):
    body = {
        "users": [{"external_id": "u1", "user_principal_name": "jane@corp.example.com"}],
        "devices": [{"external_id": "d1", "name": "PC-1", "platform": "ios", "primary_user": "u1"}],
        "groups": [{"external_id": "g1", "name": "Staff", "kind": "user", "members": ["u1"]}],
    }
    response = admin_api.post(URL, body, format="json")
    assert response.status_code == 200
    assert response.json()["created"] == 3
    upload = _upload(json.dumps(body).encode(), name="export.json")
    response = admin_api.post(URL, upload, format="multipart")
    assert (response.json()["created"], response.json()["unchanged"]) == (0, 3)
    assert list(Group.objects.get().users.values_list("external_id", flat=True)) == ["u1"]


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (
            b"external_id,user_principal_name,colour\nu1,jane@corp.example.com,red\n",
            "users.csv",
            "unknown columns",
        ),
        (b"[{", "users.json", "not valid JSON"),
        (b"\xff\xfe\x00", "users.csv", "not UTF-8"),
        (b"external_id,name\nx,y\n", "things.csv", "cannot tell from the columns"),
    ],
)
def test_file_problems_are_a_400_and_import_nothing(client_for, content, name, message):
    response = client_for(*IMPORTER).post(URL, _upload(content, name=name), format="multipart")
    assert response.status_code == 400
    assert response.json()["code"] == "import_file_invalid"
    assert message in response.json()["detail"]
    assert not DirectoryUser.objects.exists()


def test_unknown_columns_in_a_json_body_are_listed(admin_api):
    rows = [{"external_id": "u1", "upn": "x"}, {"external_id": "u2", "mail": "y"}]
    response = admin_api.post(URL, {"kind": "users", "rows": rows}, format="json")
    assert response.status_code == 400
    assert response.json()["extra"]["unknown_columns"] == ["mail", "upn"]


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"rows": [], "users": []},
        {"kind": "computers", "rows": []},
        {"format": "csv", "rows": [{"external_id": "u1"}]},
        {"rows": "external_id\nu1"},
    ],
)
def test_bad_requests_are_a_400(admin_api, body):
    assert admin_api.post(URL, body, format="json").status_code == 400


def test_permissions(client_for):
    assert APIClient().post(URL, {"rows": []}, format="json").status_code == 401
    assert client_for().post(URL, {"rows": []}, format="json").status_code == 403
    assert (
        client_for("directory.add_device").post(URL, _upload(USERS_CSV), format="multipart").status_code
        == 403
    )
    assert client_for("directory.add_directoryuser").post(URL, {"rows": []}, format="json").status_code == 403
    assert not DirectoryUser.objects.exists()


def test_groups_also_need_add_group(client_for):
    body = {"groups": [{"external_id": "g1", "name": "Staff", "kind": "user"}]}
    assert client_for(*IMPORTER).post(URL, body, format="json").status_code == 403
    assert client_for(*IMPORTER, "directory.add_group").post(URL, body, format="json").status_code == 200
    assert Group.objects.count() == 1
