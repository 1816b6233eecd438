"""Imports from the admin: the upload runs the import service as a job, its page polls a status fragment
with the committed progress and the per-row errors, and each page needs the directory manager's rights.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from django.contrib.auth.models import Group as AuthGroup
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from access.services.roles import roles_sync
from directory import admin_imports
from directory.models import Device, ImportJob, ImportJobStatus
from directory.services.import_jobs import import_job_create, import_job_run

pytestmark = pytest.mark.django_db

ADD = "/admin/directory/importjob/add/"
LIST = "/admin/directory/importjob/"
DEVICES_CSV = (
    b"external_id,name,platform\nd-1,Laptop 1,windows_10\nd-2,iPhone 2,ios\nd-3,Toaster,toaster_os\n"
)
USERS_CSV = b"external_id,user_principal_name\nu-1,jane@corp.example.com\n"


def upload(content: bytes, name: str = "devices.csv", **fields: str) -> dict[str, Any]:
    return {"file": SimpleUploadedFile(name, content, content_type="text/csv"), "kind": "auto",
            "file_format": "auto", **fields}  # fmt: skip


@pytest.fixture
def as_role(client: Client, django_user_model: Any) -> Callable[..., Client]:
    roles_sync()

    def _login(role: str | None = None, *perms: str, name: str = "") -> Client:
        member = django_user_model.objects.create_user(name or f"ui-{role or 'perms'}", is_staff=True)
        if role:
            member.groups.add(AuthGroup.objects.get(name=role))
        for perm in perms:
            app_label, codename = perm.split(".")
            member.user_permissions.add(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )
        client.force_login(member)
        return client

    return _login


def status_url(job: ImportJob) -> str:
    return f"{LIST}{job.pk}/status/"


def test_the_directory_manager_imports_devices_and_reads_the_row_errors(
    as_role, django_capture_on_commit_callbacks
):
    client = as_role("Directory manager")
    form = client.get(ADD)
    assert form.status_code == 200
    assert "Import a file" in client.get(LIST).content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(ADD, upload(DEVICES_CSV))

    job = ImportJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"{LIST}{job.pk}/change/"
    assert job.requested_by == "admin:ui-Directory manager"
    assert (job.status, job.rows_total, job.created, job.failed) == (ImportJobStatus.DONE, 3, 2, 1)
    assert set(Device.objects.values_list("external_id", flat=True)) == {"d-1", "d-2"}
    page = client.get(response["Location"])
    assert page.status_code == 200
    body = page.content.decode()
    assert 'data-progress="100"' in body
    assert "hx-trigger" not in body  # finished: nothing to poll
    assert "htmx.min.js" in body
    assert "toaster_os" in body  # the bad row, with what is wrong
    error = job.errors[0]
    assert (error["kind"], error["row"], error["external_id"]) == ("devices", 4, "d-3")  # the file's line
    assert "platform" in error["errors"]


def test_the_status_fragment_polls_until_the_job_has_finished(as_role):
    client = as_role("Directory manager")
    job = import_job_create(content=DEVICES_CSV, requested_by="test", file_name="devices.csv", dispatch=False)

    queued = client.get(status_url(job))
    assert queued.status_code == 200
    body = queued.content.decode()
    assert f'hx-get="{status_url(job)}"' in body
    assert 'hx-trigger="every 1s"' in body
    assert 'data-progress="0"' in body
    assert 'data-status="queued"' in body

    ImportJob.objects.filter(pk=job.pk).update(status=ImportJobStatus.RUNNING, rows_done=1)
    running = client.get(status_url(job)).content.decode()
    assert 'data-progress="33"' in running  # from the committed rows: 1 of 3
    assert "hx-trigger" in running

    import_job_run(job_id=job.pk)
    done = client.get(status_url(job)).content.decode()
    assert 'data-progress="100"' in done
    assert "hx-trigger" not in done
    assert "d-3" in done


def test_a_file_that_cannot_be_read_is_shown_on_the_form_and_nothing_is_recorded(as_role):
    client = as_role("Directory manager")
    response = client.post(ADD, upload(b"external_id,colour\nx,red\n", name="things.csv"))
    assert response.status_code == 200
    assert "unknown columns for users: colour" in response.context["form"].non_field_errors()[0]
    assert not ImportJob.objects.exists()


def test_a_kind_the_uploader_may_not_import_is_refused_and_nothing_is_recorded(as_role):
    client = as_role(None, "directory.add_device", "directory.change_device", name="devices-only")
    assert client.get(ADD).status_code == 200
    response = client.post(ADD, upload(USERS_CSV, name="users.csv"))
    assert response.status_code == 200
    assert "importing users" in response.content.decode()
    assert not ImportJob.objects.exists()


def test_a_file_too_large_is_refused(as_role, monkeypatch):
    monkeypatch.setattr(admin_imports, "MAX_UPLOAD_BYTES", 10)
    response = as_role("Directory manager").post(ADD, upload(DEVICES_CSV))
    assert response.status_code == 200
    assert "manage.py directory_import" in response.content.decode()
    assert not ImportJob.objects.exists()


def test_read_only_sees_the_imports_but_no_import_button_and_cannot_upload(as_role):
    job = import_job_create(content=DEVICES_CSV, requested_by="test", dispatch=False)
    client = as_role("Read-only")

    listing = client.get(LIST)
    assert listing.status_code == 200
    assert "Import a file" not in listing.content.decode()
    assert client.get(f"{LIST}{job.pk}/change/").status_code == 200
    assert client.get(status_url(job)).status_code == 200
    assert client.get(ADD).status_code == 403
    assert client.post(ADD, upload(DEVICES_CSV)).status_code == 403
    assert ImportJob.objects.count() == 1
    assert "Import another file" not in client.get(f"{LIST}{job.pk}/change/").content.decode()


def test_without_the_rights_the_pages_and_the_fragment_are_refused(as_role):
    job = import_job_create(content=DEVICES_CSV, requested_by="test", dispatch=False)
    client = as_role("Device enrollment operator")
    assert client.get(LIST).status_code == 403
    assert client.get(ADD).status_code == 403
    assert client.get(status_url(job)).status_code == 403
    assert client.get(f"{LIST}{job.pk}/change/").status_code == 403


def test_an_importer_without_the_view_right_sees_only_their_own_jobs(as_role, django_user_model):
    other = django_user_model.objects.create_user("someone-else")
    theirs = import_job_create(
        content=DEVICES_CSV, requested_by="other", requested_by_user=other, dispatch=False
    )
    client = as_role(None, "directory.add_device", "directory.change_device", name="importer")
    client.post(ADD, upload(DEVICES_CSV))
    mine = ImportJob.objects.exclude(pk=theirs.pk).get()

    assert client.get(status_url(mine)).status_code == 200
    assert client.get(status_url(theirs)).status_code == 404
    assert client.get(f"{LIST}{theirs.pk}/change/").status_code == 404
    assert [job.pk for job in client.get(LIST).context["cl"].result_list] == [mine.pk]


def test_the_staff_flag_is_needed_for_the_fragment(client, django_user_model):
    job = import_job_create(content=DEVICES_CSV, requested_by="test", dispatch=False)
    member = django_user_model.objects.create_user("not-staff")
    member.user_permissions.add(Permission.objects.get(codename="view_importjob"))
    client.force_login(member)
    response = client.get(status_url(job))
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_a_combined_json_file_is_imported_too(as_role, django_capture_on_commit_callbacks):
    content = (
        b'{"users": [{"external_id": "u-9", "user_principal_name": "kim@corp.example.com"}],'
        b' "devices": [{"external_id": "d-9", "name": "Kim\'s Mac", "platform": "macos",'
        b' "primary_user": "u-9"}]}'
    )
    client = as_role("Directory manager")
    with django_capture_on_commit_callbacks(execute=True):
        client.post(ADD, upload(content, name="directory.json"))
    job = ImportJob.objects.get()
    assert (job.status, job.kinds, job.created, job.failed) == (
        ImportJobStatus.DONE,
        ["users", "devices"],
        2,
        0,
    )
    owner = Device.objects.get(external_id="d-9").primary_user
    assert owner is not None
    assert owner.user_principal_name == "kim@corp.example.com"
