"""A request's id: set for each web request, in every log line, carried to the tasks it sends and back."""

from __future__ import annotations

import logging
import re
from types import SimpleNamespace

import pytest

from celery import current_app

from audit.context import correlation_id
from core.request_ids import (
    REQUEST_ID_HEADER,
    RequestIdFilter,
    request_id_get,
    request_id_reset,
    request_id_set,
)
from portal import task_hooks


def test_each_request_gets_an_id_in_its_answer(client, db):
    first = client.get("/healthz")
    second = client.get("/healthz")

    assert re.fullmatch(r"[0-9a-f]{32}", first["X-Request-ID"])
    assert first["X-Request-ID"] != second["X-Request-ID"]
    assert request_id_get() == ""  # reset after the request


def test_a_clients_id_is_not_taken_without_a_trusted_proxy(client, db):
    response = client.get("/healthz", HTTP_X_REQUEST_ID="chosen-by-the-client")

    assert response["X-Request-ID"] != "chosen-by-the-client"


@pytest.mark.parametrize(
    ("offered", "taken"), [("nginx-0123456789abcdef", True), ("bad id\nforged line", False)]
)
def test_the_proxys_id_is_taken_when_it_is_safe(client, db, settings, offered, taken):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}

    response = client.get("/healthz", HTTP_X_REQUEST_ID=offered)

    assert (response["X-Request-ID"] == offered) is taken


def test_log_records_carry_the_id():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "message", None, None)
    token = request_id_set("abcdef0123")
    try:
        RequestIdFilter().filter(record)
    finally:
        request_id_reset(token)
    outside = logging.LogRecord("x", logging.INFO, __file__, 1, "message", None, None)
    RequestIdFilter().filter(outside)

    assert getattr(record, "request_id", None) == "abcdef0123"
    assert getattr(outside, "request_id", None) == "-"


def test_the_audit_correlation_id_is_the_request_id(rf, db):
    from audit.context import request_scope  # noqa: PLC0415

    token = request_id_set("abcdef0123456789")
    try:
        with request_scope(rf.get("/")):
            assert correlation_id() == "abcdef0123456789"
    finally:
        request_id_reset(token)


def test_the_id_travels_in_the_task_headers_and_is_restored_in_the_worker():
    headers: dict[str, object] = {}
    token = request_id_set("web-request-0001")
    try:
        task_hooks.task_published(headers=headers)
    finally:
        request_id_reset(token)
    assert headers[REQUEST_ID_HEADER] == "web-request-0001"
    assert isinstance(headers[task_hooks.PUBLISHED_AT_HEADER], float)

    # The worker: a fresh context, the message's headers on the task's request.
    request = SimpleNamespace(delivery_info={"routing_key": "ca"}, is_eager=False, **headers)
    task = SimpleNamespace(name="ca.tasks.certificate_issue_task", request=request)
    task_hooks.task_started(task_id="t-1", task=task)
    try:
        assert request_id_get() == "web-request-0001"
    finally:
        task_hooks.task_finished(task_id="t-1", task=task, state="SUCCESS")
    assert request_id_get() == ""


def test_a_task_without_an_id_gets_its_own():
    task = SimpleNamespace(name="ca.tasks.crl_refresh_task", request=SimpleNamespace(delivery_info={}))
    task_hooks.task_started(task_id="beat-1", task=task)
    try:
        assert request_id_get() == "task-beat-1"
    finally:
        task_hooks.task_finished(task_id="beat-1", task=task, state="SUCCESS")


def test_a_task_run_in_process_keeps_the_requests_id():
    @current_app.task(name="portal.tests.request_id_echo")
    def echo() -> str:
        return request_id_get()

    token = request_id_set("embedded-request-01")
    try:
        assert echo.apply_async().get() == "embedded-request-01"
    finally:
        request_id_reset(token)
