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


def test_redis_keeps_the_queued_tasks_across_a_restart(compose):
    """The broker's queue survives a restart (append-only file in a volume): the fault suite's
    test_redis_restart_with_queued_tasks shows what a Redis without persistence loses.
    """
    redis = compose["services"]["redis"]
    command = redis["command"]

    assert command[command.index("--appendonly") + 1] == "yes"
    assert command[command.index("--appendfsync") + 1] == "everysec"
    assert "redis-data:/data" in redis["volumes"]
    assert "redis-data" in compose["volumes"]


def test_every_variable_the_compose_file_reads_is_in_the_env_example():
    text = (ROOT / "docker-compose.yml").read_text(encoding="utf-8")
    used = set(re.findall(r"\$\{([A-Z0-9_]+)", text))
    example = {
        line.split("=", 1)[0]
        for line in (ROOT / ".env.example").read_text(encoding="utf-8").splitlines()
        if line and not line.startswith("#")
    }

    assert used <= example, used - example


def test_only_nginx_is_published_and_the_web_tier_is_behind_it(compose):
    """Plain HTTP to gunicorn on any interface would put the admin's password on the network: nginx, with
    TLS on 443, is the only way in.
    """
    published = {
        name: [str(port) for port in service.get("ports", [])]
        for name, service in compose["services"].items()
    }

    assert {name: ports for name, ports in published.items() if ports} == {
        "nginx": ["443:443", "${CERTPORTAL_HTTP_PORT:-80}:80"]
    }
    web = compose["services"]["web"]
    assert web["expose"] == ["8000"]
    assert web["environment"]["DJANGO_BEHIND_PROXY"] == "${DJANGO_BEHIND_PROXY:-true}"
    assert web["environment"]["CERTPORTAL_NUM_PROXIES"] == "${CERTPORTAL_NUM_PROXIES:-1}"


TEMPLATE = ROOT / "deploy" / "nginx" / "certportal.conf.template"


def test_nginx_renders_the_repository_template_and_serves_the_workers_certificate(compose):
    nginx = compose["services"]["nginx"]

    assert re.fullmatch(r"nginx:1\.2[0-9](\.[0-9]+)?", nginx["image"])
    assert (
        f"./{TEMPLATE.relative_to(ROOT)}:/etc/nginx/templates/certportal.conf.template:ro" in nginx["volumes"]
    )
    # Every variable of the template is set, and only those are substituted (nginx keeps its own $host).
    wanted = set(re.findall(r"\$\{([A-Z0-9_]+)\}", TEMPLATE.read_text(encoding="utf-8")))
    environment = nginx["environment"]
    assert wanted == {name for name in environment if name.startswith("NGINX_")} - {"NGINX_ENVSUBST_FILTER"}
    assert environment["NGINX_ENVSUBST_FILTER"] == "^NGINX_"
    assert not PASSPHRASES & set(environment)
    assert environment["NGINX_UPSTREAM"] == "web:8000"
    # The body limit of the SCEP paths is the portal's own.
    assert (
        environment["NGINX_SCEP_MAX_BODY_SIZE"]
        == compose["services"]["web"]["environment"]["CERTPORTAL_SCEP_MAX_MESSAGE_SIZE"]
    )
    # The certificate: written by the worker (the command and the renewal job), read by nginx only.
    tls = environment["NGINX_TLS_DIR"]
    assert f"tls:{tls}:ro" in nginx["volumes"]
    worker = compose["services"]["worker"]
    assert f"tls:{tls}" in worker["volumes"]
    assert worker["environment"]["CERTPORTAL_TLS_DIR"] == tls
    assert "tls" in compose["volumes"]
    for name in ("web", "ca-worker", "beat"):
        assert not any(
            str(volume).startswith("tls:") for volume in compose["services"][name].get("volumes", [])
        )
    # It reloads when the renewal switches the files (a new release behind "current").
    assert "nginx -s reload" in nginx["command"][-1]


def _healthcheck(compose: dict[str, Any], service: str) -> str:
    return " ".join(str(part) for part in compose["services"][service]["healthcheck"]["test"])


def test_the_web_tier_is_healthy_when_it_is_ready_itself(compose):
    """The web container's health is /readyz?scope=web (database, cache, broker), not the whole /readyz: a CA
    worker that is down must not make the web tier unhealthy too (it answers PENDING meanwhile, and serves
    CRLs and OCSP); nginx waits for it.
    """
    test = _healthcheck(compose, "web")

    assert "http://127.0.0.1:8000/readyz?scope=web" in test
    assert "/healthz" not in test
    assert compose["services"]["nginx"]["depends_on"]["web"] == {"condition": "service_healthy"}


def test_the_ca_worker_is_healthy_when_it_can_sign(compose):
    test = compose["services"]["ca-worker"]["healthcheck"]["test"]

    assert test[1:] == [
        "python",
        "manage.py",
        "check",
        "--deploy",
        "--tag",
        "ca_worker",
        "--database",
        "default",
    ]


def test_logs_are_json_and_metrics_are_on_the_internal_network(compose):
    common = compose["x-common"]["environment"]
    assert common["CERTPORTAL_LOG_FORMAT"] == "${CERTPORTAL_LOG_FORMAT:-json}"
    assert common["CERTPORTAL_METRICS_TOKEN"] == "${CERTPORTAL_METRICS_TOKEN:-}"
    for worker in ("ca-worker", "worker"):
        service = compose["services"][worker]
        assert service["environment"]["CERTPORTAL_METRICS_PORT"] == "9808"
        assert service["expose"] == ["9808"]
        assert not service.get("ports")
