"""Failed logins (django-axes, CERTPORTAL_LOGIN_RATE): after the limit, one username (from any address) and
one address (for any username) are locked out, even with the right password, until the window has passed.
Time is moved with time-machine; the test client logs in through /admin/login/ as a browser does.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine

from django.contrib.auth import SESSION_KEY
from django.test import Client

LOGIN = "/admin/login/"
START = "2031-05-05 10:00:00+00:00"
PASSWORD = "the-right-Passw0rd"


@pytest.fixture
def staff(django_user_model: Any) -> Any:
    return django_user_model.objects.create_user(username="alice", password=PASSWORD, is_staff=True)


@pytest.fixture(autouse=True)
def _limit(settings: Any) -> None:
    settings.AXES_FAILURE_LIMIT = 3
    settings.AXES_COOLOFF_TIME = timedelta(minutes=15)


class Attempt:
    """A login through the admin's form, and whether it opened a session."""

    def __init__(self, username: str, password: str, address: str) -> None:
        client = Client(REMOTE_ADDR=address)
        self.response = client.post(LOGIN, {"username": username, "password": password, "next": "/admin/"})
        self.status_code = self.response.status_code
        self.logged_in = SESSION_KEY in client.session

    def __getitem__(self, header: str) -> str:
        return str(self.response[header])

    @property
    def content(self) -> bytes:
        return bytes(self.response.content)


def login(username: str, password: str, address: str = "192.0.2.10") -> Attempt:
    return Attempt(username, password, address)


def test_a_locked_out_username_is_refused_with_the_right_password_until_the_window_passes(staff):
    with time_machine.travel(START, tick=False) as traveller:
        first, second = login("alice", "wrong-1"), login("alice", "wrong-2")
        assert (first.status_code, second.status_code) == (200, 200)  # the login page and its error
        third = login("alice", "wrong-3")  # the limit: locked from now on
        assert third.status_code == 429

        traveller.shift(timedelta(minutes=10))
        refused = login("alice", PASSWORD, address="198.51.100.7")  # the right password, from elsewhere

        assert refused.status_code == 429
        assert not refused.logged_in
        assert int(refused["Retry-After"]) == 5 * 60  # the window runs from the last failure
        assert "Too many failed logins" in refused.content.decode()
        assert "5 more minutes" in refused.content.decode()

        traveller.shift(timedelta(minutes=5, seconds=1))
        accepted = login("alice", PASSWORD)

        assert accepted.status_code == 302
        assert accepted.logged_in


def test_an_address_that_fails_for_many_usernames_is_locked_out(staff):
    with time_machine.travel(START, tick=False):
        for name in ("bob", "carol", "dave"):
            login(name, "guess", address="203.0.113.5")

        assert login("alice", PASSWORD, address="203.0.113.5").status_code == 429
        elsewhere = login("alice", PASSWORD, address="192.0.2.99")  # alice herself has no failures

    assert elsewhere.status_code == 302
    assert elsewhere.logged_in


def test_failures_below_the_limit_do_not_lock(staff):
    with time_machine.travel(START, tick=False):
        login("alice", "wrong-1")
        login("alice", "wrong-2")
        response = login("alice", PASSWORD)

    assert response.status_code == 302
    assert response.logged_in


def test_the_client_address_is_the_peer_unless_a_proxy_is_trusted(staff, settings):
    """A client cannot escape its lock by sending its own X-Forwarded-For, unless CERTPORTAL_NUM_PROXIES
    says a proxy in front writes that header.
    """
    with time_machine.travel(START, tick=False):
        for name in ("bob", "carol", "dave"):
            Client(REMOTE_ADDR="203.0.113.5", HTTP_X_FORWARDED_FOR=f"10.0.0.{len(name)}").post(
                LOGIN, {"username": name, "password": "guess"}
            )
        spoofed = Client(REMOTE_ADDR="203.0.113.5", HTTP_X_FORWARDED_FOR="192.0.2.200").post(
            LOGIN, {"username": "alice", "password": PASSWORD}
        )
        assert spoofed.status_code == 429

        settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
        behind_proxy = Client(REMOTE_ADDR="203.0.113.5", HTTP_X_FORWARDED_FOR="192.0.2.200").post(
            LOGIN, {"username": "alice", "password": PASSWORD}
        )

    assert behind_proxy.status_code == 302
