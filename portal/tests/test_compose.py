"""docker-compose.yml is the production shape: each process gets only the secrets it needs, and every
``${VAR}`` it reads is documented in .env.example. (Docker does not run here; test_topology starts the
same processes for real.)
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
PASSPHRASES = {
    "CERTPORTAL_CA_KEY_PASSPHRASE",
    "CERTPORTAL_RA_KEY_PASSPHRASE",
    "CERTPORTAL_OCSP_KEY_PASSPHRASE",
}
#: Who holds which key's passphrase (docs/architecture.md, "Security boundaries").
EXPECTED = {
    "web": {"CERTPORTAL_RA_KEY_PASSPHRASE", "CERTPORTAL_OCSP_KEY_PASSPHRASE"},
    "ca-worker": {"CERTPORTAL_CA_KEY_PASSPHRASE"},
    "worker": {"CERTPORTAL_RA_KEY_PASSPHRASE", "CERTPORTAL_OCSP_KEY_PASSPHRASE"},
    "beat": set(),
}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


@pytest.mark.parametrize("service", sorted(EXPECTED))
def test_each_process_gets_only_the_passphrases_it_needs(compose, service):
    environment = compose["services"][service]["environment"]

    assert PASSPHRASES & set(environment) == EXPECTED[service]
    assert environment["DJANGO_SETTINGS_MODULE"] == "portal.settings.production"


def test_only_the_ca_worker_serves_the_ca_queue(compose):
    commands = {name: service.get("command") for name, service in compose["services"].items()}

    assert commands["ca-worker"][commands["ca-worker"].index("-Q") + 1] == "ca"
    assert commands["worker"][commands["worker"].index("-Q") + 1] == "default"


def test_every_variable_the_compose_file_reads_is_in_the_env_example():
    text = (ROOT / "docker-compose.yml").read_text(encoding="utf-8")
    used = set(re.findall(r"\$\{([A-Z0-9_]+)", text))
    example = {
        line.split("=", 1)[0]
        for line in (ROOT / ".env.example").read_text(encoding="utf-8").splitlines()
        if line and not line.startswith("#")
    }

    assert used <= example, used - example


def test_the_web_port_is_published_on_the_loopback_only(compose):
    """Plain HTTP on every interface would put the admin's password on the network: the host's TLS proxy
    is the only way in.
    """
    published = [str(port) for service in compose["services"].values() for port in service.get("ports", [])]

    assert published == ["127.0.0.1:8000:8000"]
    assert compose["services"]["web"]["environment"]["DJANGO_BEHIND_PROXY"] == "${DJANGO_BEHIND_PROXY:-true}"
