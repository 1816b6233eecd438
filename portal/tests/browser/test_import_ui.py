"""Directory imports in a real browser: upload a devices CSV with a bad row, watch the progress bar reach
100 % and read the per-row error; a job still queued is polled until its rows are in.
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from directory.models import Device, ImportJob, ImportJobStatus
from directory.services.import_jobs import import_job_create, import_job_run

pytestmark = [pytest.mark.external, pytest.mark.django_db(transaction=True)]

DEVICES_CSV = (
    b"external_id,name,platform,serial_number\n"
    b"d-100,LAPTOP-100,windows_10,SN100\n"
    b"d-101,iPhone 101,ios,SN101\n"
    b"d-102,Toaster,toaster_os,SN102\n"
    b"d-103,Pixel 103,android_enterprise,SN103\n"
)


def test_the_admin_imports_devices_from_a_csv_and_reads_the_bad_row(
    live_server: Any, page: Any, login: Any, screenshot: Any, superuser: Any
) -> None:
    login(page, superuser)
    page.goto(f"{live_server.url}/admin/directory/importjob/")
    page.get_by_role("link", name="Import a file").click()
    expect(page.locator("#import-upload")).to_be_visible()
    page.set_input_files(
        "input[name=file]", files=[{"name": "devices.csv", "mimeType": "text/csv", "buffer": DEVICES_CSV}]
    )
    screenshot(page, "import-upload")
    page.get_by_role("button", name="Import").click()

    # Tasks run in process here: the job has run by the time its page opens, and the page says so.
    status = page.locator("#import-status")
    expect(status).to_have_attribute("data-status", "done")
    expect(page.locator("#import-percent")).to_have_text("100 %")
    expect(page.locator("#import-progress")).to_have_attribute("value", "100")
    expect(page.locator("#import-counts")).to_contain_text("3created")
    errors = page.locator("#import-errors tr.dp-row-error")
    expect(errors).to_have_count(1)
    expect(errors).to_contain_text("d-102")
    expect(errors).to_contain_text("platform")
    expect(errors).to_contain_text("toaster_os")
    screenshot(page, "import-page")
    assert set(Device.objects.values_list("external_id", flat=True)) == {"d-100", "d-101", "d-103"}

    page.get_by_role("link", name="All imports").click()
    expect(page.locator("#result_list")).to_contain_text("devices.csv")
    expect(page.locator("#result_list")).to_contain_text("100 %")
    screenshot(page, "import-list")


def test_the_progress_bar_follows_a_job_until_it_reaches_100_percent(
    live_server: Any, page: Any, login: Any, screenshot: Any, superuser: Any
) -> None:
    job = import_job_create(
        content=DEVICES_CSV,
        requested_by="test",
        requested_by_user=superuser,
        file_name="later.csv",
        dispatch=False,
    )
    login(page, superuser)
    page.goto(f"{live_server.url}/admin/directory/importjob/{job.pk}/change/")
    status = page.locator("#import-status")
    expect(status).to_have_attribute("data-status", "queued")
    expect(page.locator("#import-percent")).to_have_text("0 %")
    expect(status).to_have_attribute("hx-trigger", "every 1s")
    screenshot(page, "import-page-queued")

    # The worker takes the job: the page, polling its status fragment, shows what the job committed.
    import_job_run(job_id=job.pk)
    assert ImportJob.objects.get(pk=job.pk).status == ImportJobStatus.DONE

    expect(page.locator("#import-percent")).to_have_text("100 %", timeout=15_000)
    expect(status).to_have_attribute("data-status", "done")
    expect(status).not_to_have_attribute("hx-trigger", "every 1s")  # finished: the polling stops
    expect(page.locator("#import-errors tr.dp-row-error")).to_have_count(1)
