"""portal.settings.production is secure by default: ``check --deploy`` is clean, HTTPS is enforced except on
the plain-HTTP paths devices and relying parties need (SCEP, CRLs, CA certificates, OCSP, the health check).
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from django.conf import settings
from django.test import Client

from portal.env import BASE_DIR


def _production_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    inherited = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("CERTPORTAL_", "DJANGO_", "CELERY_", "DATABASE_URL", "REDIS_URL"))
    }
    return {
        **inherited,
        "DJANGO_SETTINGS_MODULE": "portal.settings.production",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "scep.example.com",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "CERTPORTAL_DATA_DIR": str(tmp_path / "data"),
        **extra,
    }


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _production_settings(tmp_path: Path, **extra: str) -> dict[str, Any]:
    names = [
        "DEBUG",
        "SECURE_SSL_REDIRECT",
        "SECURE_REDIRECT_EXEMPT",
        "SECURE_HSTS_SECONDS",
        "SECURE_HSTS_INCLUDE_SUBDOMAINS",
        "SECURE_HSTS_PRELOAD",
        "SECURE_PROXY_SSL_HEADER",
        "SESSION_COOKIE_SECURE",
        "CSRF_COOKIE_SECURE",
        "SESSION_COOKIE_HTTPONLY",
        "X_FRAME_OPTIONS",
        "SECURE_CONTENT_TYPE_NOSNIFF",
        "SECURE_REFERRER_POLICY",
    ]
    script = (
        "import json, django; django.setup(); from django.conf import settings; "
        f"print(json.dumps({{name: getattr(settings, name) for name in {names!r}}}))"
    )
    result = _run(["-c", script], _production_env(tmp_path, **extra))
    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    assert isinstance(loaded, dict)
    return loaded


def test_check_deploy_is_clean(tmp_path):
    result = _run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], _production_env(tmp_path))

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_production_is_secure_by_default(tmp_path):
    values = _production_settings(tmp_path)

    assert values["DEBUG"] is False
    assert values["SECURE_SSL_REDIRECT"] is True
    assert (values["SESSION_COOKIE_SECURE"], values["CSRF_COOKIE_SECURE"]) == (True, True)
    assert values["SESSION_COOKIE_HTTPONLY"] is True
    assert values["SECURE_HSTS_SECONDS"] == 365 * 24 * 3600
    assert (values["SECURE_HSTS_INCLUDE_SUBDOMAINS"], values["SECURE_HSTS_PRELOAD"]) == (True, False)
    assert values["SECURE_PROXY_SSL_HEADER"] is None  # no proxy is believed unless DJANGO_BEHIND_PROXY
    assert (values["X_FRAME_OPTIONS"], values["SECURE_CONTENT_TYPE_NOSNIFF"]) == ("DENY", True)
    assert values["SECURE_REFERRER_POLICY"] == "same-origin"
    assert values["SECURE_REDIRECT_EXEMPT"] == settings.SECURE_REDIRECT_EXEMPT


def test_each_default_can_be_overridden_from_the_environment(tmp_path):
    values = _production_settings(
        tmp_path,
        DJANGO_SECURE_SSL_REDIRECT="false",
        DJANGO_SECURE_COOKIES="false",
        DJANGO_SECURE_HSTS_SECONDS="600",
        DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS="false",
        DJANGO_SECURE_HSTS_PRELOAD="true",
        DJANGO_BEHIND_PROXY="true",
        DJANGO_SECURE_REFERRER_POLICY="no-referrer",
        DJANGO_SECURE_REDIRECT_EXEMPT=r"^intranet/",
    )

    assert values["SECURE_SSL_REDIRECT"] is False
    assert (values["SESSION_COOKIE_SECURE"], values["CSRF_COOKIE_SECURE"]) == (False, False)
    assert values["SECURE_HSTS_SECONDS"] == 600
    assert (values["SECURE_HSTS_INCLUDE_SUBDOMAINS"], values["SECURE_HSTS_PRELOAD"]) == (False, True)
    assert values["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert values["SECURE_REFERRER_POLICY"] == "no-referrer"
    assert values["SECURE_REDIRECT_EXEMPT"][-1] == r"^intranet/"


PLAIN_HTTP = [
    "/scep",
    "/scep/",
    "/scep/demo?operation=GetCACaps",
    "/scep/demo/pkiclient.exe?operation=GetCACaps",
    "/certsrv/mscep/mscep.dll?operation=GetCACaps",
    "/certsrv/mscep/mscep.dll/pkiclient.exe?operation=GetCACaps",
    "/cgi-bin/pkiclient.exe?operation=GetCACaps",
    "/crl/demo-issuing.crl",
    "/ca/demo-issuing.crt",
    "/ca/demo-issuing-chain.pem",
    "/ocsp/demo-issuing",
    "/ocsp/demo-issuing/MEMwQTA%2FMD0wOzAJBgUrDgMCGgUABBQ",
    "/healthz",
]
HTTPS_ONLY = [
    "/",
    "/admin/",
    "/admin/login/",
    "/api/v1/",
    "/api/v1/checkin/",
    "/api/docs/",
    "/scepx",
    "/crl",
    "/capture/ca/x.crt",
    "/api/v1/certificate-authorities/demo-issuing/crl/",
]


@pytest.fixture
def production_https(settings: Any) -> None:
    """The production settings' HTTPS behaviour on the test settings (the exempt paths are base.py's)."""
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 365 * 24 * 3600
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = True


@pytest.mark.django_db
@pytest.mark.parametrize("path", PLAIN_HTTP)
def test_the_plain_http_paths_are_not_redirected(production_https, client: Client, path):
    response = client.get(path)

    assert response.status_code != 301, response.get("Location")


@pytest.mark.django_db
@pytest.mark.parametrize("path", HTTPS_ONLY)
def test_everything_else_is_redirected_to_https(production_https, client: Client, path):
    response = client.get(path)

    assert response.status_code == 301
    assert response["Location"] == f"https://testserver{path}"


@pytest.mark.django_db
def test_https_responses_carry_hsts_and_secure_cookies(production_https, client: Client):
    response = client.get("/admin/login/", secure=True)

    assert response.status_code == 200
    assert response["Strict-Transport-Security"] == "max-age=31536000"
    assert response.cookies["csrftoken"]["secure"] is True
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
