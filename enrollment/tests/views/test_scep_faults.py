"""Faults around the SCEP endpoint (reference matrix F-01, F-02, H-19): the database failing, rate limits,
and the cost of the cheap operations."""

from __future__ import annotations

from contextlib import ExitStack

import pytest

from django.core.cache import cache
from django.db import OperationalError, connection

from ca.models import CertificateRequest, IssuedCertificate
from enrollment import scep
from enrollment.api.throttling import ScepClientThrottle, ScepGlobalThrottle
from enrollment.models import ScepService, ScepTransaction
from enrollment.tests.fixtures import Device, assert_protocol_answer


@pytest.fixture
def database_down():
    """From now on, every statement on the given model's table fails as a lost server does (the connection
    stays usable for the assertions' other tables). At the cursor, so that prepared queries fail too.
    """
    with ExitStack() as stack:

        def down(model):
            table = model._meta.db_table

            def fail(execute, sql, params, many, context):
                if table in sql:
                    raise OperationalError("server closed the connection unexpectedly")
                return execute(sql, params, many, context)

            stack.enter_context(connection.execute_wrapper(fail))

        yield down


def test_get_ca_caps_and_get_ca_cert_survive_a_database_outage(client, scep_service, database_down):
    caps = client.get("/scep/strict", {"operation": "GetCACaps"}).content
    ca_cert = client.get("/scep/strict", {"operation": "GetCACert"}).content
    database_down(ScepService)

    during_caps = client.get("/scep/strict", {"operation": "GetCACaps"})
    during_ca_cert = client.get("/scep/strict", {"operation": "GetCACert"})

    assert during_caps.status_code == 200
    assert during_caps.content == caps
    assert during_ca_cert.status_code == 200
    assert during_ca_cert.content == ca_cert


def test_service_never_seen_during_a_database_outage_is_503(client, scep_service, database_down):
    database_down(ScepService)
    response = client.get("/scep/never-seen", {"operation": "GetCACaps"})
    assert response.status_code == 503
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response["Retry-After"] == "10"
    assert response.content == b"the SCEP service is temporarily unavailable; retry\n"


def test_pki_operation_during_a_database_outage_is_503_and_signs_nothing(
    transactional_db, scep_client, device_keys, database_down
):
    sent = scep_client.pkcs_req(Device.create(device_keys[0]))
    database_down(ScepTransaction)

    response = scep_client.send(sent)

    assert response.status_code == 503
    assert response["Retry-After"] == "10"
    assert_protocol_answer(response)
    assert IssuedCertificate.objects.count() == 0
    assert CertificateRequest.objects.count() == 0


def test_pki_operation_is_rate_limited_with_a_plain_text_429(client, scep_service, monkeypatch):
    monkeypatch.setattr(
        ScepClientThrottle, "THROTTLE_RATES", {"scep_client": "2/day", "scep_global": "100/day"}
    )
    monkeypatch.setattr(
        ScepGlobalThrottle, "THROTTLE_RATES", {"scep_client": "2/day", "scep_global": "100/day"}
    )
    cache.clear()
    try:
        statuses = [
            client.post("/scep/strict?operation=PKIOperation", data=b"\x30\x00", content_type="x").status_code
            for _ in range(3)
        ]
        throttled = client.post("/scep/strict?operation=PKIOperation", data=b"\x30\x00", content_type="x")
        caps = client.get("/scep/strict", {"operation": "GetCACaps"})
    finally:
        cache.clear()
    assert statuses == [400, 400, 429]
    assert throttled.status_code == 429
    assert throttled["Content-Type"] == "text/plain; charset=utf-8"
    assert int(throttled["Retry-After"]) > 0
    assert throttled.content == b"too many SCEP requests; retry later\n"
    assert caps.status_code == 200  # GetCACaps/GetCACert are not throttled


def test_get_ca_caps_and_get_ca_cert_cost_one_query(client, scep_service, django_assert_num_queries):
    client.get("/scep/strict", {"operation": "GetCACert"})  # the RA key is decrypted once per process
    with django_assert_num_queries(1):
        assert client.get("/scep/strict", {"operation": "GetCACaps"}).status_code == 200
    with django_assert_num_queries(1):
        assert client.get("/scep/strict", {"operation": "GetCACert"}).status_code == 200


def test_retransmitted_pkcs_req_costs_a_bounded_number_of_queries(
    transactional_db, scep_client, device_keys, django_assert_max_num_queries
):
    device = Device.create(device_keys[0])
    sent = scep_client.pkcs_req(device)
    assert scep_client.exchange(sent).status is scep.PkiStatus.SUCCESS
    with django_assert_max_num_queries(10):
        assert scep_client.exchange(scep_client.pkcs_req(device)).status is scep.PkiStatus.SUCCESS
