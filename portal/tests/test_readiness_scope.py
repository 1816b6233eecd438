"""``/readyz?scope=web``: the web tier's own readiness, which a CA worker outage does not change."""

from __future__ import annotations

import pytest

from portal import health


@pytest.fixture
def ca_worker_down(monkeypatch):
    monkeypatch.setitem(
        health._CHECKS,
        "ca_worker",
        lambda: {"ok": False, "detail": "no CA worker heartbeat in the last 45 s"},
    )


@pytest.mark.usefixtures("ca_worker_down")
def test_the_web_scope_stays_ready_while_the_ca_worker_is_down(client, db):
    whole = client.get("/readyz")
    web = client.get("/readyz?scope=web")

    assert whole.status_code == 503
    assert whole.json()["checks"]["ca_worker"]["ok"] is False
    assert web.status_code == 200
    assert web.json()["scope"] == "web"
    assert set(web.json()["checks"]) == {"database", "cache", "broker", "ca_queue"}


def test_the_web_scope_is_unready_without_its_database(client, db, monkeypatch):
    def database_down() -> dict[str, object]:
        raise ConnectionError("database unreachable")

    monkeypatch.setitem(health._CHECKS, "database", database_down)

    response = client.get("/readyz?scope=web")

    assert response.status_code == 503
    assert response["Retry-After"]
    assert response.json()["checks"]["database"]["ok"] is False


def test_an_unknown_scope_is_refused(client, db):
    response = client.get("/readyz?scope=everything")

    assert response.status_code == 400
    assert "all, web" in response.json()["detail"]
