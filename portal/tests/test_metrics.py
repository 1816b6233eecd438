"""``/metrics``: who may read it, and what it says (the counters moving during a real enrollment over HTTP,
the state gauges computed from the database at the scrape)."""

from __future__ import annotations

import datetime as dt
import os

import pytest

from django.utils import timezone

from ca.models import IssuedCertificate
from enrollment import scep
from enrollment.tests.fixtures import (  # noqa: F401 - the SCEP fixtures, registered for these tests
    Device,
    device_keys,
    legacy_scep_service,
    ra_rows,
    registration_authority,
    scep_service,
)
from enrollment.tests.test_live_server import pinned_client
from portal.tests.scrape import parse, scrape, status_of, total, value

os.environ.setdefault("DJANGO_LIVE_TEST_SERVER_ADDRESS", "127.0.0.1")

TOKEN = "metrics-test-token-0123456789"


@pytest.fixture
def metrics_token(settings):
    settings.CERTPORTAL_METRICS_TOKEN = TOKEN
    return TOKEN


def test_metrics_are_not_there_unless_configured(client, db):
    assert client.get("/metrics").status_code == 404


@pytest.mark.usefixtures("metrics_token")
@pytest.mark.parametrize("authorization", ["", "Bearer wrong-token", f"Token {TOKEN}", f"Basic {TOKEN}"])
def test_metrics_refuse_a_request_without_the_token(client, db, authorization):
    headers = {"HTTP_AUTHORIZATION": authorization} if authorization else {}
    assert client.get("/metrics", **headers).status_code == 403


@pytest.mark.usefixtures("metrics_token")
def test_metrics_answer_the_token(client, db):
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    samples = parse(response.content.decode())
    assert value(samples, "certportal_state_up", part="certificates") == 1
    assert value(samples, "certportal_state_up", part="crls") == 1


def test_metrics_by_network(client, db, settings):
    settings.CERTPORTAL_METRICS_ALLOWED_NETWORKS = "10.0.0.0/8, 192.0.2.0/24"

    assert client.get("/metrics", REMOTE_ADDR="192.0.2.7").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="198.51.100.1").status_code == 403


def test_metrics_need_the_token_and_the_network_when_both_are_set(client, db, settings):
    settings.CERTPORTAL_METRICS_TOKEN = TOKEN
    settings.CERTPORTAL_METRICS_ALLOWED_NETWORKS = "192.0.2.0/24"
    authorized = {"HTTP_AUTHORIZATION": f"Bearer {TOKEN}"}

    assert client.get("/metrics", REMOTE_ADDR="192.0.2.7", **authorized).status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="198.51.100.1", **authorized).status_code == 403
    assert client.get("/metrics", REMOTE_ADDR="192.0.2.7").status_code == 403


def test_state_gauges_are_counted_from_the_database(client, pki, metrics_token, issue):
    now = timezone.now()
    kept, revoked, expiring = (
        IssuedCertificate.objects.get(request=issue(common_name=f"device-{n}")) for n in range(3)
    )
    IssuedCertificate.objects.filter(pk=revoked.pk).update(revoked_at=now, revocation_reason="keyCompromise")
    IssuedCertificate.objects.filter(pk=expiring.pk).update(not_after=now + dt.timedelta(days=10))
    labels = {"authority": pki.issuing.slug, "template": pki.template.name}

    samples = parse(client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").content.decode())

    assert kept.pk
    assert value(samples, "certportal_certificates_issued", **labels) == 3
    assert value(samples, "certportal_certificates_revoked", **labels) == 1
    assert value(samples, "certportal_certificates_valid", **labels) == 2
    assert value(samples, "certportal_certificates_expiring_30d", **labels) == 1
    # The fixture's CRLs were generated just now.
    assert 0 <= value(samples, "certportal_crl_age_seconds", authority=pki.issuing.slug) < 600
    assert value(samples, "certportal_crl_next_update_seconds", authority=pki.issuing.slug) > 0
    assert value(samples, "certportal_ca_workers_ready") == 0  # no worker heartbeat in the embedded default


@pytest.mark.usefixtures("scep_service")
def test_counters_move_during_a_live_server_enrollment(
    live_server,
    pki,
    device_keys,  # noqa: F811 - the enrollment fixture imported above
    metrics_token,
):
    """Scraped over HTTP before and after a real enrollment and a refusal through the live server."""
    url = f"{live_server.url}/metrics"
    assert status_of(url) == 403
    operation = {"service": "strict", "operation": "PKIOperation", "message_type": "PKCSReq"}
    before = scrape(url, TOKEN)

    client = pinned_client(live_server, pki)
    enrolled = client.enroll(Device.create(device_keys[0]).csr(), device_keys[0])
    refused_device = Device.create(device_keys[1])
    refused = client.enroll(refused_device.csr(challenge="wrong-challenge"), device_keys[1])

    after = scrape(url, TOKEN)
    assert enrolled.status is scep.PkiStatus.SUCCESS
    assert refused.status is scep.PkiStatus.FAILURE

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    success = {**operation, "status": "success", "fail_info": ""}
    failure = {**operation, "status": "failure", "fail_info": "badRequest"}
    assert delta("certportal_scep_operations_total", **success) == 1
    assert delta("certportal_scep_operations_total", **failure) == 1
    latency = "certportal_scep_pki_operation_seconds_count"
    assert delta(latency, message_type="PKCSReq", status="success") == 1
    assert delta(latency, message_type="PKCSReq", status="failure") == 1
    labels = {"authority": pki.issuing.slug, "template": pki.template.name}
    assert delta("certportal_certificates_issued", **labels) == 1
    assert delta("certportal_certificates_valid", **labels) == 1
    # The issuing task ran in process (the embedded default): its run time is measured too.
    runs = "certportal_task_run_seconds_count"
    assert (
        total(after, runs, queue="in_process", state="SUCCESS")
        - total(before, runs, queue="in_process", state="SUCCESS")
        >= 1
    )
