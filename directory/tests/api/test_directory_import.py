"""/api/v1/directory-import/: file uploads and JSON bodies become import jobs (202, then GET the job);
400 and 403 record nothing.
"""

import json

import pytest

from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from directory.models import Device, DirectoryUser, Group, ImportJob
from directory.tests.factories import DeviceFactory, DirectoryUserFactory, GroupFactory

pytestmark = [pytest.mark.django_db, pytest.mark.urls("directory.tests.urls")]

URL = "/api/v1/directory-import/"
USERS = ("directory.add_directoryuser", "directory.change_directoryuser")
DEVICES = ("directory.add_device", "directory.change_device")
GROUPS = ("directory.add_group", "directory.change_group")
IMPORTER = (*USERS, *DEVICES)
USERS_CSV = (
    b"external_id,user_principal_name,department\n"
    b"u1,jane@corp.example.com,Finance\n"
    b"u2,joe@corp.example.com,Sales\n"
)
SID = "S-1-5-21-1004336348-1177238915-682003330-1001"


def _upload(content, name="users.csv", **fields):
    return {"file": SimpleUploadedFile(name, content, content_type="text/csv"), **fields}


@pytest.fixture
def post(django_capture_on_commit_callbacks):
    """``post(client, data, format)``: the POST, with the job's dispatch at commit run (tasks are eager).

    The test's transaction commits only after the answer, so a 202 comes back with the job queued and the
    job runs just after: ``response.job`` is then the job as ``GET`` shows it.
    """

    def _post(client, data, format="multipart"):
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(URL, data, format=format)
        if response.status_code == 202:
            assert response.json()["status"] == "queued"
            response.job = client.get(response["Location"]).json()
        return response

    return _post


def _counts(body):
    return body["created"], body["updated"], body["unchanged"], body["failed"]


def test_multipart_csv_upload_answers_202_with_the_job(client_for, post):
    client = client_for(*IMPORTER)
    response = post(client, _upload(USERS_CSV))
    assert response.status_code == 202, response.json()
    body = response.job
    job = ImportJob.objects.get()
    assert response["Location"] == f"http://testserver{URL}{job.pk}/"
    assert {key: body[key] for key in ("id", "status", "dry_run", "file_name", "file_size", "kinds")} == {
        "id": job.pk,
        "status": "done",
        "dry_run": False,
        "file_name": "users.csv",
        "file_size": len(USERS_CSV),
        "kinds": ["users"],
    }
    assert (body["rows_total"], body["rows_done"], body["progress"]) == (2, 2, 100.0)
    assert _counts(body) == (2, 0, 0, 0)
    assert body["by_kind"] == {"users": {"created": 2, "updated": 0, "unchanged": 0, "failed": 0}}
    assert (body["errors"], body["errors_omitted"], body["failure_reason"]) == ([], 0, "")
    assert body["requested_by"].startswith("api:directory-user-")
    assert set(DirectoryUser.objects.values_list("external_id", flat=True)) == {"u1", "u2"}
    assert bytes(ImportJob.objects.get().content) == b""  # the file is not kept once the job is done


@pytest.mark.django_db(transaction=True)
def test_where_tasks_run_in_process_the_202_carries_the_finished_job(client_for):
    """The embedded default: no broker, the job runs at the commit of the request that recorded it."""
    response = client_for(*IMPORTER).post(URL, _upload(USERS_CSV), format="multipart")
    assert response.status_code == 202
    assert (response.json()["status"], response.json()["created"]) == ("done", 2)
    assert DirectoryUser.objects.count() == 2


def test_the_job_is_dispatched_only_when_its_transaction_commits(
    client_for, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client_for(*IMPORTER).post(URL, _upload(USERS_CSV), format="multipart")
    assert response.status_code == 202
    assert response.json()["status"] == "queued"
    assert len(callbacks) == 1
    assert not DirectoryUser.objects.exists()
    callbacks[0]()
    assert ImportJob.objects.get().status == "done"
    assert DirectoryUser.objects.count() == 2


def test_multipart_dry_run_writes_nothing(client_for, post):
    response = post(client_for(*IMPORTER), _upload(USERS_CSV, dry_run="true"))
    assert response.status_code == 202
    assert (response.job["dry_run"], response.job["created"]) == (True, 2)
    assert not DirectoryUser.objects.exists()


def test_row_errors_are_listed_on_the_job_and_the_good_rows_applied(client_for, post):
    content = USERS_CSV + b"u3,not-a-upn,IT\n"
    data = post(client_for(*IMPORTER), _upload(content)).job
    assert (data["status"], data["created"], data["failed"]) == ("done", 2, 1)
    assert data["errors"] == [
        {
            "kind": "users",
            "row": 4,
            "external_id": "u3",
            "errors": {"user_principal_name": ["Enter a user principal name such as jane@corp.example.com."]},
        }
    ]
    assert DirectoryUser.objects.count() == 2


def test_json_body_rows_with_kind(client_for, post):
    rows = [{"external_id": "d1", "name": "PC-1", "platform": "Windows 10 and later"}]
    response = post(client_for(*IMPORTER), {"kind": "devices", "format": "json", "rows": rows}, "json")
    assert response.status_code == 202, response.json()
    assert response.job["by_kind"] == {"devices": {"created": 1, "updated": 0, "unchanged": 0, "failed": 0}}
    assert response.job["file_name"] == ""
    assert Device.objects.get().platform == "windows_10"


def test_json_body_rows_kind_told_by_the_keys(client_for, post):
    rows = [{"external_id": "u1", "user_principal_name": "jane@corp.example.com"}]
    response = post(client_for(*IMPORTER), {"rows": rows}, "json")
    assert response.status_code == 202
    assert response.job["by_kind"]["users"]["created"] == 1


def test_json_body_combined_and_json_file(admin_api, post):
    body = {
        "users": [{"external_id": "u1", "user_principal_name": "jane@corp.example.com"}],
        "devices": [{"external_id": "d1", "name": "PC-1", "platform": "ios", "primary_user": "u1"}],
        "groups": [{"external_id": "g1", "name": "Staff", "kind": "user", "members": ["u1"]}],
    }
    response = post(admin_api, body, "json")
    assert response.status_code == 202
    assert (response.job["created"], response.job["kinds"]) == (3, ["users", "devices", "groups"])
    response = post(admin_api, _upload(json.dumps(body).encode(), name="export.json"))
    assert (response.job["created"], response.job["unchanged"]) == (0, 3)
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
        (b'[{"external_id": ' + b"[" * 100_000 + b"]" * 100_000 + b"}]", "deep.json", "nested too deeply"),
        (b'[{"external_id": ' + b"9" * 5000 + b"}]", "long.json", "not valid JSON"),
    ],
)
def test_file_problems_are_a_400_and_write_nothing(client_for, post, caplog, content, name, message):
    response = post(client_for(*IMPORTER), _upload(content, name=name))
    assert response.status_code == 400
    assert response.json()["code"] == "import_file_invalid"
    assert message in response.json()["detail"]
    (record,) = [r for r in caplog.records if r.name == "directory.imports"]
    assert (record.levelname, record.getMessage()) == (
        "WARNING",
        f"directory import refused, the file cannot be used: {response.json()['detail']}",
    )
    assert not DirectoryUser.objects.exists()
    assert not ImportJob.objects.exists()


def test_json_nested_deeper_than_the_parser_goes_is_a_400(admin_api):
    body = '{"rows": ' + "[" * 100_000 + "]" * 100_000 + "}"
    response = admin_api.post(URL, body, content_type="application/json")
    assert response.status_code == 400
    assert "nested too deeply" in response.json()["detail"]
    assert not ImportJob.objects.exists()


def test_unknown_columns_in_a_json_body_are_listed(admin_api, post):
    rows = [{"external_id": "u1", "upn": "x"}, {"external_id": "u2", "mail": "y"}]
    response = post(admin_api, {"kind": "users", "rows": rows}, "json")
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
        {"rows": [["u1", "jane@corp.example.com"]]},
    ],
)
def test_bad_requests_are_a_400(admin_api, body):
    assert admin_api.post(URL, body, format="json").status_code == 400
    assert not ImportJob.objects.exists()


def test_permissions(client_for, post, caplog):
    assert APIClient().post(URL, {"rows": []}, format="json").status_code == 401
    assert client_for().post(URL, {"rows": []}, format="json").status_code == 403
    response = post(client_for(*DEVICES), _upload(USERS_CSV))
    assert response.status_code == 403
    assert response.json()["code"] == "import_not_permitted"
    assert response.json()["extra"]["permissions"] == sorted(USERS)
    (record,) = [r for r in caplog.records if r.name == "directory.imports"]
    assert record.getMessage().startswith("directory import by api:directory-user-")
    assert record.getMessage().endswith(f"refused: {response.json()['detail']}")
    assert client_for("directory.add_directoryuser").post(URL, {"rows": []}, format="json").status_code == 403
    assert not DirectoryUser.objects.exists()
    assert not ImportJob.objects.exists()


@pytest.mark.parametrize(
    ("granted", "patch_status"),
    [
        (("directory.add_directoryuser", "directory.add_device"), 403),  # what the import used to take
        (("directory.add_directoryuser", *DEVICES), 403),  # may import devices, not users
        (("directory.change_directoryuser",), 200),  # may change users, not create them
    ],
)
def test_an_import_takes_add_and_change_so_it_cannot_rewrite_a_user_refused_a_patch(
    client_for, post, granted, patch_status
):
    """Finding 1: with add_directoryuser only, the import rewrote another user's UPN and SID."""
    victim = DirectoryUserFactory.create(
        external_id="victim", user_principal_name="ceo@corp.example.com", on_premises_security_identifier=SID
    )
    client = client_for(*granted, "directory.view_directoryuser")
    patch = client.patch(f"/api/v1/users/{victim.pk}/", {"department": "Board"}, format="json")
    assert patch.status_code == patch_status
    csv = (
        b"external_id,user_principal_name,on_premises_security_identifier\n"
        b"victim,attacker@corp.example.com,S-1-5-21-1-2-3-500\n"
    )
    for data, fmt in [
        (_upload(csv), "multipart"),
        (
            {
                "kind": "users",
                "rows": [{"external_id": "victim", "user_principal_name": "a@corp.example.com"}],
            },
            "json",
        ),
    ]:
        response = post(client, data, fmt)
        assert response.status_code == 403, response.json()
        assert "directory.add_directoryuser and directory.change_directoryuser" in response.json()["detail"]
    victim.refresh_from_db()
    assert (victim.user_principal_name, victim.on_premises_security_identifier) == (
        "ceo@corp.example.com",
        SID,
    )
    assert not ImportJob.objects.exists()


@pytest.mark.parametrize(
    ("body", "rights", "row"),
    [
        ({"devices": [{"external_id": "d1", "name": "Renamed"}]}, DEVICES, lambda: Device.objects.get().name),
        ({"groups": [{"external_id": "g1", "name": "Renamed"}]}, GROUPS, lambda: Group.objects.get().name),
    ],
)
def test_devices_and_groups_take_both_rights_too(client_for, post, body, rights, row):
    DeviceFactory.create(external_id="d1", name="PC-1")
    GroupFactory.create(external_id="g1", name="Staff")
    before = row()
    for granted in rights:
        assert post(client_for(granted), body, "json").status_code == 403
        assert row() == before
    assert post(client_for(*rights), body, "json").status_code == 202
    assert row() == "Renamed"


def test_a_file_with_users_and_groups_needs_the_rights_of_both(client_for, post):
    body = {
        "users": [{"external_id": "u1", "user_principal_name": "jane@corp.example.com"}],
        "groups": [{"external_id": "g1", "name": "Staff", "kind": "user"}],
    }
    response = post(client_for(*USERS), body, "json")
    assert response.status_code == 403
    assert response.json()["extra"]["kinds"] == ["groups"]
    assert not DirectoryUser.objects.exists()
    assert post(client_for(*USERS, *GROUPS), body, "json").status_code == 202
    assert Group.objects.count() == 1


def test_jobs_are_listed_for_their_requester_and_for_view_importjob(client_for, post):
    alice, bob = client_for(*USERS), client_for(*USERS)
    mine = post(alice, _upload(USERS_CSV)).job["id"]
    theirs = post(bob, _upload(USERS_CSV)).job["id"]
    assert [job["id"] for job in alice.get(URL).json()["results"]] == [mine]
    assert alice.get(f"{URL}{theirs}/").status_code == 404
    auditor = client_for("directory.view_importjob")
    assert [job["id"] for job in auditor.get(URL).json()["results"]] == [theirs, mine]
    assert [job["id"] for job in auditor.get(URL, {"status": "done"}).json()["results"]] == [theirs, mine]
    assert auditor.post(URL, _upload(USERS_CSV), format="multipart").status_code == 403
    assert (
        client_for("directory.view_directoryuser").get(URL).status_code == 403
    )  # neither imports nor audits
    assert client_for("directory.view_directoryuser").get(f"{URL}{mine}/").status_code == 403
    assert APIClient().get(URL).status_code == 401
