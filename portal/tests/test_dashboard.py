"""The dashboard (the admin's index): counts for every staff user, each linking to the list it counts; the
certificates themselves (subjects, serials) only for those who may read them (ca.view_issuedcertificate);
the latest failures with their code's name and advice; the CA worker's health.
"""

from __future__ import annotations

import re

import pytest

from django.test import Client

from ca.health import ca_worker_health_get
from ca.models import IssuedCertificate
from ca.worker_status import WorkerStatus, worker_status_remove, worker_status_write
from eventlog.choices import DiagnosticCode, EventId, EventLevel
from eventlog.services import event_record


def _staff(user_with_perms, *perms, username="counter"):
    staff = user_with_perms(*perms, username=username)
    staff.is_staff = True
    staff.save(update_fields=["is_staff"])
    return staff


def _count(page: str, key: str) -> int:
    match = re.search(rf'id="count-{key}" href="([^"]*)">\s*<span class="num">(\d+)</span>', page)
    assert match, key
    return int(match.group(2))


def _link(page: str, key: str) -> str:
    match = re.search(rf'id="count-{key}" href="([^"]*)"', page)
    assert match, key
    return match.group(1).replace("&amp;", "&")


def test_staff_without_the_right_sees_counts_but_no_subject_or_serial(client, issued, user_with_perms):
    client.force_login(_staff(user_with_perms))

    response = client.get("/admin/")

    page = response.content.decode()
    assert response.status_code == 200
    assert _count(page, "valid") == 1
    assert "issued-1" not in page
    assert f"{issued.serial}" not in page
    assert "Recently issued" not in page


def test_staff_with_the_right_sees_the_recent_certificates(client: Client, issued, user_with_perms):
    client.force_login(_staff(user_with_perms, "ca.view_issuedcertificate", username="reader"))

    page = client.get("/admin/").content.decode()

    assert "issued-1" in page
    assert f"{issued.serial}" in page


def test_the_root_sends_staff_to_the_dashboard(client: Client, user_with_perms):
    client.force_login(_staff(user_with_perms))

    response = client.get("/")

    assert response.status_code == 302
    assert response["Location"] == "/admin/"


def test_a_user_who_is_not_staff_gets_no_dashboard(client: Client, issued, user_with_perms):
    client.force_login(user_with_perms("ca.view_issuedcertificate", username="outsider"))

    assert client.get("/").status_code == 403
    assert client.get("/admin/")["Location"].startswith("/admin/login/")


def test_anonymous_is_sent_to_the_login(client: Client):
    response = client.get("/")

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_logging_in_lands_on_the_dashboard(client: Client, django_user_model):
    django_user_model.objects.create_user("lander", password="pw-lander-1", is_staff=True)

    response = client.post(
        "/admin/login/?next=/admin/",
        {"username": "lander", "password": "pw-lander-1", "next": "/admin/"},
        follow=True,
    )

    assert response.redirect_chain[-1][0] == "/admin/"
    assert b"<h1>Dashboard</h1>" in response.content


@pytest.mark.django_db(transaction=True)  # revocation is carried out when its request commits
def test_every_count_links_to_a_list_showing_as_many(admin_client: Client, pki, issue, revoke):
    pki.template.allow_requester_validity = True
    pki.template.save()
    IssuedCertificate.objects.get(request=issue(common_name="valid-1"))
    IssuedCertificate.objects.get(request=issue(common_name="short", validity_days=10))
    revoke(IssuedCertificate.objects.get(request=issue(common_name="gone")))

    page = admin_client.get("/admin/").content.decode()

    expected = {"valid": 2, "expiring": 1, "revoked": 1, "failed": 0, "pending": 0, "without": 0}
    for key, count in expected.items():
        assert _count(page, key) == count, key
        listed = admin_client.get(_link(page, key))
        assert listed.status_code == 200, key
        assert listed.context["cl"].result_count == count, key


def test_latest_failures_show_the_codes_name_and_what_to_do(admin_client: Client, db):
    event_record(
        event_id=EventId.CRP_VERIFY_WARNING,
        level=EventLevel.WARNING,
        message="challenge expired",
        diagnostic_code=DiagnosticCode.CRP_SCEP_CHALLENGE_EXPIRED,
    )

    page = admin_client.get("/admin/").content.decode()

    assert "0x00000411 CRPSCEPChallenge_Expired" in page
    assert "Request denied due to expired certificate challenge." in page
    assert "it gets a new one at its next check-in" in page


def test_charts_are_inline_svg(admin_client: Client, issued):
    page = admin_client.get("/admin/").content.decode()

    assert page.count('<svg class="cp-chart') == 3
    assert "1 issued</title>" in page


def test_the_ca_workers_heartbeat_and_the_queue(admin_client: Client, db, monkeypatch):
    monkeypatch.setattr("ca.health._embedded", lambda: False)
    monkeypatch.setattr("ca.health.ca_queue_length", lambda: 3)
    worker_status_write(WorkerStatus(hostname="ca-worker-1", pid=1, ready=True))
    try:
        health = ca_worker_health_get()
        page = admin_client.get("/admin/").content.decode()
    finally:
        worker_status_remove("ca-worker-1")  # the cache outlives the test

    assert [worker.hostname for worker in health.workers] == ["ca-worker-1"]
    assert health.healthy
    assert "ca-worker-1, heartbeat 0 s ago" in page
    assert "3 messages" in page
