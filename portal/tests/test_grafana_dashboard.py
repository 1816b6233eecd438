"""deploy/grafana/certportal.json asks only for metrics that /metrics exposes."""

from __future__ import annotations

import json
import re
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

DASHBOARD = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "certportal.json"
TOKEN = "dashboard-test-token-0123456789"


def test_every_metric_of_the_dashboard_is_exposed(client, db, settings):
    settings.CERTPORTAL_METRICS_TOKEN = TOKEN
    text = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").content.decode()
    exposed = {family.name for family in text_string_to_metric_families(text)}
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    expressions = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]

    asked = {
        re.sub(r"_(total|bucket|count|sum)$", "", name)
        for expression in expressions
        for name in re.findall(r"certportal_[a-z0-9_]+", expression)
    }

    assert asked
    # The queue's length exists only with a broker (not in the embedded default of the tests).
    assert asked - {"certportal_ca_queue_length"} <= exposed, asked - exposed
    assert all(panel["datasource"]["uid"] == "${datasource}" for panel in dashboard["panels"])
