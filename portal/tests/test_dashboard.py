"""The dashboard: counts for every staff user, the certificates themselves (subjects, serials) only for
those who may read them (ca.view_issuedcertificate).
"""

from __future__ import annotations

from django.test import Client


def test_staff_without_the_right_sees_counts_but_no_subject_or_serial(client, issued, user_with_perms):
    staff = user_with_perms(username="counter")
    staff.is_staff = True
    staff.save(update_fields=["is_staff"])
    client.force_login(staff)

    response = client.get("/")

    page = response.content.decode()
    assert response.status_code == 200
    assert '<span class="num" id="count-valid">1</span>' in page
    assert "issued-1" not in page
    assert f"{issued.serial}" not in page
    assert "Recently issued" not in page


def test_staff_with_the_right_sees_the_recent_certificates(client: Client, issued, user_with_perms):
    staff = user_with_perms("ca.view_issuedcertificate", username="reader")
    staff.is_staff = True
    staff.save(update_fields=["is_staff"])
    client.force_login(staff)

    page = client.get("/").content.decode()

    assert "issued-1" in page
    assert f"{issued.serial}" in page


def test_a_user_who_is_not_staff_gets_no_dashboard(client: Client, issued, user_with_perms):
    client.force_login(user_with_perms("ca.view_issuedcertificate", username="outsider"))

    assert client.get("/").status_code == 403


def test_anonymous_is_sent_to_the_login(client: Client):
    response = client.get("/")

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
