"""Fixtures of the directory tests (conftest.py re-exports them)."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import pytest

from django.contrib.auth.models import Permission
from rest_framework.test import APIClient

from access.services.tokens import api_token_create

ClientFor = Callable[..., APIClient]


@pytest.fixture
def client_for(django_user_model: Any) -> ClientFor:
    """An APIClient authenticated with a DRF token of a new user holding the given permissions."""
    counter = itertools.count(1)

    def _client(*perms: str) -> APIClient:
        user = django_user_model.objects.create_user(username=f"directory-user-{next(counter)}")
        for perm in perms:
            app_label, codename = perm.split(".")
            user.user_permissions.add(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )
        client = APIClient()
        client.credentials(
            HTTP_AUTHORIZATION=f"Token {api_token_create(user=user, name='test', created_by=None).secret}"
        )
        return client

    return _client


@pytest.fixture
def admin_api(admin_user: Any) -> APIClient:
    """An APIClient of a superuser (session authentication)."""
    client = APIClient()
    client.force_authenticate(admin_user)
    return client
