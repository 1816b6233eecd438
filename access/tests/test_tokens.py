"""API tokens: hashed at rest, expiring, named, scoped; created and revoked by administrators; shown once."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest

from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from access.models import ApiToken
from access.services.tokens import api_token_create
from core.exceptions import ApplicationError
from directory.models import Device
from directory.services.checkin_tokens import device_checkin_token_rotate
from directory.tests.factories import DeviceFactory

URL = "/api/v1/api-tokens/"


def bearer(secret: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {secret}")
    return client


def test_only_a_digest_is_stored_and_the_token_works(user_with_perms):
    user = user_with_perms("directory.view_device")
    created = api_token_create(user=user, name="sync job", created_by=None, days=30)

    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM access_apitoken")
        stored = " ".join(str(value) for row in cursor.fetchall() for value in row)
    assert created.secret not in stored
    assert hashlib.sha512(created.secret.encode()).hexdigest() in stored
    assert created.token.expiry is not None
    assert created.token.expiry - timezone.now() == pytest.approx(
        dt.timedelta(days=30), abs=dt.timedelta(minutes=1)
    )

    assert bearer(created.secret).get("/api/v1/devices/").status_code == 200
    assert ApiToken.objects.get().last_used_at is not None


def test_an_expired_token_is_refused_and_removed(user_with_perms, time_machine):
    user = user_with_perms("directory.view_device")
    created = api_token_create(user=user, name="short", created_by=None, days=1)

    time_machine.move_to(timezone.now() + dt.timedelta(days=1, seconds=1), tick=False)

    assert bearer(created.secret).get("/api/v1/devices/").status_code == 401
    assert not ApiToken.objects.exists()


def test_every_token_expires_within_the_maximum(user_with_perms, settings):
    settings.CERTPORTAL_API_TOKEN_MAX_DAYS = 30
    user = user_with_perms()

    with pytest.raises(ApplicationError, match="1 to 30 days"):
        api_token_create(user=user, name="forever", created_by=None, days=3650)


def test_a_scoped_token_does_only_what_its_scopes_cover(user_with_perms):
    user = user_with_perms("directory.view_device", "directory.change_device", "directory.view_group")
    created = api_token_create(user=user, name="reader", created_by=None, scopes=["directory.view_device"])
    client = bearer(created.secret)
    device = DeviceFactory.create()

    assert client.get("/api/v1/devices/").status_code == 200
    assert client.get("/api/v1/groups/").status_code == 403  # the user may, the token may not
    assert (
        client.patch(f"/api/v1/devices/{device.pk}/", {"name": "renamed"}, format="json").status_code == 403
    )
    assert Device.objects.get().name == device.name


def test_a_scope_that_matches_no_permission_is_refused(user_with_perms):
    with pytest.raises(ApplicationError, match="matches no permission"):
        api_token_create(user=user_with_perms(), name="typo", created_by=None, scopes=["directry.*"])


def test_a_token_never_adds_to_its_users_rights(user_with_perms):
    created = api_token_create(user=user_with_perms(), name="greedy", created_by=None, scopes=["*"])

    assert bearer(created.secret).get("/api/v1/devices/").status_code == 403


def test_an_administrator_creates_a_token_shown_once_and_revokes_it(user_with_perms, api_client_for):
    admin = api_client_for("access.add_apitoken", "access.view_apitoken", "access.delete_apitoken")
    colleague = user_with_perms("directory.view_device", username="colleague")

    response = admin.post(
        URL,
        {"name": "colleague's script", "user": "colleague", "days": 7, "scopes": ["*.view_*"]},
        format="json",
    )

    assert response.status_code == 201, response.content
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    secret = body["token"]
    assert (body["user"], body["scopes"], body["token_key"]) == ("colleague", ["*.view_*"], secret[:15])
    listed = admin.get(URL).json()["results"]
    assert secret not in str(listed)
    assert "digest" not in str(listed)
    assert bearer(secret).get("/api/v1/devices/").status_code == 200
    token = ApiToken.objects.get(user=colleague)
    assert token.created_by == admin.user

    assert admin.delete(f"{URL}{body['token_key']}/").status_code == 204
    assert bearer(secret).get("/api/v1/devices/").status_code == 401


def test_without_the_right_no_token_is_created(api_client_for, user_with_perms):
    client = api_client_for("access.view_apitoken")
    user_with_perms(username="victim")

    assert client.post(URL, {"name": "x", "user": "victim"}, format="json").status_code == 403
    assert not ApiToken.objects.filter(user__username="victim").exists()


def test_device_check_in_credentials_read_nothing_else(db):
    device = DeviceFactory.create()
    secret = device_checkin_token_rotate(device=device)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Device {device.external_id}:{secret}")

    for path in ("/api/v1/devices/", "/api/v1/certificates/", URL, "/api/v1/connector-events/"):
        assert client.get(path).status_code == 401, path
    # ... and a device's secret is no API token either
    assert bearer(secret).get("/api/v1/devices/").status_code == 401


def test_the_command_prints_the_token_once(user_with_perms, capsys):
    user_with_perms("directory.view_device", username="ci")

    call_command("create_api_token", "--user", "ci", "--name", "CI", "--days", "2")

    secret = capsys.readouterr().out.strip()
    assert bearer(secret).get("/api/v1/devices/").status_code == 200
    assert ApiToken.objects.get().name == "CI"
