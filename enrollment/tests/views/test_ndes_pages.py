"""NDES's pages: a SCEP path without an operation answers 403, as NDES does once the Intune Certificate
Connector is installed (the reference: "It should return a 403 error"); a browser gets the NDES test page
only where ``CERTPORTAL_NDES_TEST_PAGE`` allows it (on in the embedded default). /certsrv/mscep_admin/,
where stock NDES hands out challenges, is a 404.
"""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from enrollment.conf import enrollment_settings
from enrollment.tests.fixtures import STATIC_CHALLENGE
from enrollment.views import NDES_ADMIN_TEXT, NO_OPERATION_TEXT

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
SCEP_PATHS = [
    "/certsrv/mscep/mscep.dll",
    "/certsrv/mscep/mscep.dll/pkiclient.exe",
    "/cgi-bin/pkiclient.exe",
    "/scep",
    "/scep/strict",
    "/scep/strict/pkiclient.exe",
]
#: manage.py's directory, where the settings subprocesses start.
REPOSITORY = Path(__file__).resolve().parents[3]
ADMIN_PATHS = ["/certsrv/mscep_admin/", "/certsrv/mscep_admin", "/certsrv/mscep_admin/default.asp"]

os.environ.setdefault("DJANGO_LIVE_TEST_SERVER_ADDRESS", "127.0.0.1")


def assert_forbidden(response) -> None:
    assert response.status_code == 403
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response.content == (NO_OPERATION_TEXT + "\n").encode()


@pytest.mark.parametrize("path", SCEP_PATHS)
@pytest.mark.parametrize("accept", [None, BROWSER, "*/*"])
def test_without_an_operation_every_scep_path_answers_403_as_ndes_with_the_connector(
    client, scep_service, path, accept
):
    headers = {"HTTP_ACCEPT": accept} if accept else {}
    assert_forbidden(client.get(path, **headers))


def test_the_403_names_no_service_and_no_ca(client, scep_service):
    body = client.get("/certsrv/mscep/mscep.dll", HTTP_ACCEPT=BROWSER).content.decode()
    assert scep_service.name not in body
    assert scep_service.authority.name not in body
    assert scep_service.authority.fingerprint_sha1 not in body


def test_head_is_403_too(client, scep_service):
    assert client.head("/certsrv/mscep/mscep.dll").status_code == 403


def test_operations_are_unchanged(client, scep_service):
    response = client.get("/certsrv/mscep/mscep.dll", {"operation": "GetCACaps"})
    assert response.status_code == 200
    assert "POSTPKIOperation" in response.content.decode()
    assert client.get("/certsrv/mscep/mscep.dll", {"operation": "Bogus"}).status_code == 400


@pytest.mark.parametrize("path", SCEP_PATHS)
def test_with_the_setting_a_browser_gets_the_ndes_test_page(client, scep_service, settings, path):
    settings.CERTPORTAL_NDES_TEST_PAGE = True

    response = client.get(path, HTTP_ACCEPT=BROWSER)

    assert response.status_code == 200
    assert response["Content-Type"] == "text/html; charset=utf-8"
    page = response.content.decode()
    assert "<h1>Network Device Enrollment Service</h1>" in page
    assert "Strict SCEP" in page
    assert scep_service.authority.fingerprint_sha1 in page
    assert "CERTPORTAL_NDES_TEST_PAGE" in page


@pytest.mark.parametrize("accept", [None, "*/*", "application/json"])
def test_with_the_setting_other_clients_still_get_403(client, scep_service, settings, accept):
    settings.CERTPORTAL_NDES_TEST_PAGE = True
    headers = {"HTTP_ACCEPT": accept} if accept else {}
    assert_forbidden(client.get("/certsrv/mscep/mscep.dll", **headers))


def test_an_unknown_service_is_still_404(client, scep_service):
    response = client.get("/scep/nope")
    assert response.status_code == 404
    assert response.content == b"no SCEP service 'nope'\n"


def test_without_a_default_service_the_ndes_path_is_404(client, scep_service, legacy_scep_service):
    type(scep_service).objects.update(is_default=False)
    response = client.get("/certsrv/mscep/mscep.dll")
    assert response.status_code == 404
    assert response.content == b"no default SCEP service is configured\n"


@pytest.mark.parametrize("path", ADMIN_PATHS)
@pytest.mark.parametrize("method", ["get", "post"])
def test_the_ndes_admin_page_is_404_and_hands_out_no_challenge(client, scep_service, settings, path, method):
    settings.CERTPORTAL_NDES_TEST_PAGE = True  # the test page setting does not open it

    response = getattr(client, method)(path, HTTP_ACCEPT=BROWSER)

    assert response.status_code == 404
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response.content == (NDES_ADMIN_TEXT + "\n").encode()
    assert STATIC_CHALLENGE not in response.content.decode()


def test_live_server_answers_403_like_ndes(live_server, scep_service):
    """Over real HTTP, as an administrator's browser checks the connector."""
    request = urllib.request.Request(
        f"{live_server.url}/certsrv/mscep/mscep.dll", headers={"Accept": BROWSER}
    )
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(request, timeout=30)
    assert error.value.code == 403
    assert error.value.read().decode() == NO_OPERATION_TEXT + "\n"
    error.value.close()


def test_an_invalid_setting_is_a_system_check_error(settings):
    settings.CERTPORTAL_NDES_TEST_PAGE = "sometimes"
    (error,) = enrollment_settings.check(check_id="enrollment.E001")
    assert error.msg.startswith("CERTPORTAL_NDES_TEST_PAGE:")


def _page_setting(tmp_path: Path, module: str, **env: str) -> str:
    inherited = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("CERTPORTAL_", "DJANGO_", "CELERY_", "DATABASE_URL", "REDIS_URL"))
    }
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from enrollment.conf import enrollment_settings; "
            "print(enrollment_settings().NDES_TEST_PAGE)",
        ],
        cwd=REPOSITORY,
        env={
            **inherited,
            "DJANGO_SETTINGS_MODULE": module,
            "DJANGO_SECRET_KEY": "x" * 50,
            "CERTPORTAL_DATA_DIR": str(tmp_path / "data"),
            **env,
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


@pytest.mark.parametrize(
    ("module", "env", "expected"),
    [
        ("portal.settings.local", {}, "True"),  # the embedded default (./dev serve)
        ("portal.settings.local", {"CERTPORTAL_NDES_TEST_PAGE": "false"}, "False"),
        ("portal.settings.local", {"DATABASE_URL": "sqlite:///{tmp}/db.sqlite3"}, "False"),
        ("portal.settings.production", {"DATABASE_URL": "sqlite:///{tmp}/db.sqlite3"}, "False"),
        (
            "portal.settings.production",
            {"DATABASE_URL": "sqlite:///{tmp}/db.sqlite3", "CERTPORTAL_NDES_TEST_PAGE": "true"},
            "True",
        ),
    ],
)
def test_the_page_is_on_in_the_embedded_default_only(tmp_path, module, env, expected):
    values = {name: value.format(tmp=tmp_path) for name, value in env.items()}
    assert _page_setting(tmp_path, module, **values) == expected
