"""Upgrading from DRF's plain-text tokens: each keeps working, stored hashed; the plain-text table goes."""

from __future__ import annotations

import importlib
import secrets

import pytest

from django.apps import apps
from django.db import connection
from rest_framework.test import APIClient

from access.models import ApiToken

migration = importlib.import_module("access.migrations.0002_drf_tokens_hashed")


@pytest.mark.django_db(transaction=True)
def test_a_plain_text_token_becomes_a_hashed_one_that_still_works(user_with_perms):
    user = user_with_perms("directory.view_device")
    key = secrets.token_hex(20)  # what DRF's Token.generate_key makes
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE authtoken_token (key varchar(40) PRIMARY KEY, created timestamp, user_id integer)"
        )
        cursor.execute("INSERT INTO authtoken_token VALUES (%s, CURRENT_TIMESTAMP, %s)", [key, user.pk])

    with connection.schema_editor() as editor:
        migration._hash_drf_tokens(apps, editor)

    assert "authtoken_token" not in connection.introspection.table_names()
    token = ApiToken.objects.get()
    assert (token.user, token.token_key) == (user, key[:15])
    assert key not in token.digest
    assert token.expiry is not None
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert client.get("/api/v1/devices/").status_code == 200
