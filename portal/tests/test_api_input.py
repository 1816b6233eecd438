"""Input every API endpoint shares: JSON nested deeper than Python parses is a 400 with a message."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("path", ["/api/v1/devices/", "/api/v1/scep-profiles/", "/api/v1/api-tokens/"])
def test_deeply_nested_json_is_a_400(admin_client, path):
    body = "[" * 100_000 + "]" * 100_000

    response = admin_client.post(path, body, content_type="application/json")

    assert response.status_code == 400
    assert "nested too deeply" in response.json()["detail"]
