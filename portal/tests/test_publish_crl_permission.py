"""Publishing a CRL (the CA worker signs one) needs ca.publish_crl, not only the right to read the CAs."""

from __future__ import annotations

from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

CHANGELIST = reverse("admin:ca_certificateauthority_changelist")


def _staff(user_with_perms, *perms: str, username: str):
    user = user_with_perms(*perms, username=username)
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    return user


def test_the_permission_exists(db):
    permission = Permission.objects.get(content_type__app_label="ca", codename="publish_crl")

    assert permission.name == "Publish a CRL"


def test_a_view_only_admin_cannot_publish_a_crl(client: Client, pki, user_with_perms):
    client.force_login(_staff(user_with_perms, "ca.view_certificateauthority", username="viewer"))

    page = client.get(CHANGELIST)
    response = client.post(CHANGELIST, {"action": "publish_crl", "_selected_action": [pki.issuing.pk]})

    assert page.status_code == 200
    assert b"publish_crl" not in page.content  # not offered
    assert response.status_code == 200  # "no action selected": the action is not among the choices
    assert list(pki.issuing.crls.values_list("number", flat=True)) == [1]


def test_an_admin_with_the_right_publishes_a_crl(client: Client, pki, user_with_perms):
    user = _staff(user_with_perms, "ca.view_certificateauthority", "ca.publish_crl", username="publisher")
    client.force_login(user)

    assert b"publish_crl" in client.get(CHANGELIST).content
    client.post(CHANGELIST, {"action": "publish_crl", "_selected_action": [pki.issuing.pk]})

    assert sorted(pki.issuing.crls.values_list("number", flat=True)) == [1, 2]
