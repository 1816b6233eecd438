"""A dependency's outage is a 503 with Retry-After, never a 500; downloads survive a database outage.

The outages are real connection failures, not raised by hand: the cache pointed at a port where no Redis
listens, the database connection pointed at a server that is not there (PostgreSQL: a port nobody
listens on; SQLite: a file in a directory that does not exist). The fault suite on real processes covers
the outages that start in the middle of a request.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from typing import Any

import kombu.exceptions
import pytest
import redis.exceptions

from django.db import connection, utils
from django.test import Client, override_settings

from ca.tests.fixtures import Pki
from core.outages import dependency_outage
from enrollment.models import ScepService

pytestmark = pytest.mark.django_db(transaction=True)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


DEAD_CACHE = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": f"redis://127.0.0.1:{_free_port()}/0",
        "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
    }
}


@contextlib.contextmanager
def database_down() -> Iterator[None]:
    """Inside the block the default connection's server is gone: every query fails to connect."""
    saved = dict(connection.settings_dict)
    connection.close()
    if connection.vendor == "postgresql":
        connection.settings_dict["HOST"], connection.settings_dict["PORT"] = "127.0.0.1", str(_free_port())
    else:
        connection.settings_dict["NAME"] = "/nonexistent-certportal-dir/db.sqlite3"
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(saved)


def _pki_operation(client: Client, path: str) -> Any:
    return client.post(
        f"{path}?operation=PKIOperation", b"\x30\x03\x02\x01\x00", content_type="application/x-pki-message"
    )


def test_dependency_outage_names_the_dependency_and_nothing_else() -> None:
    assert dependency_outage(utils.OperationalError("server closed the connection")) == "database"
    assert dependency_outage(utils.InterfaceError("connection already closed")) == "database"
    assert dependency_outage(redis.exceptions.ConnectionError("refused")) == "cache"
    assert dependency_outage(kombu.exceptions.OperationalError("broker")) == "broker"
    assert dependency_outage(ConnectionRefusedError()) == "connection"
    assert dependency_outage(utils.IntegrityError("duplicate key")) is None  # a bug or a race, not an outage
    assert dependency_outage(ValueError("bad input")) is None
    wrapped = RuntimeError("while sending")
    wrapped.__cause__ = redis.exceptions.TimeoutError()
    assert dependency_outage(wrapped) == "cache"


@override_settings(CACHES=DEAD_CACHE, CERTPORTAL_RATE_LIMIT_WHEN_STORE_DOWN="open")
def test_rate_limit_fails_open_when_redis_is_down(scep_service: ScepService) -> None:
    """Redis down: the PKIOperation is not counted but answered (here: a 400 for a message that is no
    PKCS#7), not a 500 as before (the throttle's connection error passed both error handlers).
    """
    response = _pki_operation(Client(raise_request_exception=False), f"/scep/{scep_service.slug}")
    assert response.status_code == 400, response.content


@override_settings(CACHES=DEAD_CACHE, CERTPORTAL_RATE_LIMIT_WHEN_STORE_DOWN="closed")
def test_rate_limit_fails_closed_with_a_503_when_so_configured(scep_service: ScepService) -> None:
    response = _pki_operation(Client(raise_request_exception=False), f"/scep/{scep_service.slug}")
    assert response.status_code == 503
    assert response["Retry-After"] == "10"
    assert b"temporarily unavailable" in response.content
    # GetCACaps is never counted, so it does not need the store.
    caps = Client().get(f"/scep/{scep_service.slug}", {"operation": "GetCACaps"})
    assert caps.status_code == 200


def test_downloads_are_served_from_the_kept_copy_while_the_database_is_down(pki: Pki, tmp_path: Any) -> None:
    client = Client(raise_request_exception=False)
    with override_settings(CERTPORTAL_PUBLISHED_DIR=str(tmp_path)):
        urls = [
            f"/crl/{pki.issuing.slug}.crl",
            f"/ca/{pki.issuing.slug}.crt",
            f"/ca/{pki.issuing.slug}-chain.pem",
        ]
        before = [client.get(url) for url in urls]
        assert [response.status_code for response in before] == [200, 200, 200]
        assert all("X-Certportal-Copy" not in response for response in before)
        never_served = f"/crl/{pki.root.slug}.crl"

        with database_down():
            during = [client.get(url) for url in urls]
            missing = client.get(never_served)

    assert [response.status_code for response in during] == [200, 200, 200]
    assert [response.content for response in during] == [response.content for response in before]
    assert all(response["X-Certportal-Copy"] == "kept" for response in during)
    assert missing.status_code == 503  # no copy kept: a clear 503, not a 500
    assert missing["Retry-After"] == "10"


def test_admin_and_api_answer_503_while_the_database_is_down(admin_user: Any) -> None:
    client = Client(raise_request_exception=False)
    client.force_login(admin_user)
    with database_down():
        admin_page = client.get("/admin/")
        api = client.get("/api/v1/certificates/")
        health = client.get("/healthz")
    assert admin_page.status_code == 503, admin_page.content[:300]
    assert admin_page["Retry-After"] == "10"
    assert api.status_code == 503
    assert api.json()["code"] == "unavailable"
    assert health.status_code == 503
