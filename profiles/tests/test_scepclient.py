"""The issue's "Done when", end to end over real HTTP: a device checks in, micromdm's scepclient enrolls
with the one-time challenge at /scep/<slug>, the certificate has the rendered subject and verifies; a
replayed challenge and a fresh challenge presented with another subject are refused and recorded.

scepclient (Debian package ``scep``) sends DES/SHA-1, so the SCEP service allows legacy algorithms; it
encodes its subject as C, O, OU, CN (defaults US, scep-client, MDM), so the profile's custom format is
exactly that. It needs a PKCS#1 key (``openssl genrsa -traditional``) and one directory per run.
"""

from __future__ import annotations

import json
import subprocess
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from cryptography import x509
from cryptography.x509.oid import NameOID

from ca.models import IssuedCertificate
from ca.tests.pki import openssl, require_executable, write_pem
from directory.services.checkin_tokens import device_checkin_token_rotate
from eventlog.choices import EventId
from eventlog.models import ConnectorEvent
from profiles.choices import CertificateState
from profiles.models import DeviceCertificateState

pytestmark = pytest.mark.external

SUBJECT_FORMAT = "C=US,O=scep-client,OU=MDM,CN={{UserName}}"


def checkin(base_url: str, device_id: str, token: str) -> dict[str, Any]:
    """GET /api/v1/checkin/ as the device does."""
    request = urllib.request.Request(
        f"{base_url}/api/v1/checkin/", headers={"Authorization": f"Device {device_id}:{token}"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 200
        body = json.loads(response.read())
    assert isinstance(body, dict), body
    return body


def new_run(tmp_path: Path, name: str) -> Path:
    directory = tmp_path / name
    directory.mkdir()
    openssl("genrsa", "-traditional", "-out", str(directory / "key.pem"), "2048")
    return directory


def scepclient(
    url: str, directory: Path, *, challenge: str, common_name: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            require_executable("scepclient"),
            "-server-url", url,
            "-private-key", str(directory / "key.pem"),
            "-certificate", str(directory / "cert.pem"),
            "-challenge", challenge,
            "-cn", common_name,
            "-debug",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )  # fmt: skip


def test_checkin_then_scepclient_enrolls_and_replays_are_refused(
    live_server, scep_service, assign_to_users, device, tmp_path
):
    require_executable("scepclient")
    scep_url = f"{live_server.url}/scep/{scep_service.slug}"
    issuing = scep_service.authority
    root = issuing.root()
    template = scep_service.general_purpose_template
    profile = assign_to_users(
        subject_name_format_string=SUBJECT_FORMAT, subject_alternative_names=[], scep_server_urls=[scep_url]
    )
    token = device_checkin_token_rotate(device=device)

    # The device checks in over HTTP and gets the root, the rendered subject and its challenge.
    body = checkin(live_server.url, device.external_id, token)
    assert [item["thumbprint_sha1"] for item in body["trusted_roots"]] == [root.fingerprint_sha1]
    (delivery,) = body["scep"]
    assert delivery["subject_x500"] == "C=US, O=scep-client, OU=MDM, CN=jdoe"
    assert delivery["scep_server_urls"] == [scep_url]
    challenge = delivery["challenge"]

    # scepclient enrolls with it.
    first = new_run(tmp_path, "enroll")
    enrolled = scepclient(scep_url, first, challenge=challenge, common_name="jdoe")
    assert enrolled.returncode == 0, enrolled.stdout + enrolled.stderr
    certificate = x509.load_pem_x509_certificate((first / "cert.pem").read_bytes())
    assert certificate.subject == x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "scep-client"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "MDM"),
            x509.NameAttribute(NameOID.COMMON_NAME, "jdoe"),
        ]
    )
    chain = write_pem(tmp_path / "chain.pem", issuing.certificate, root.certificate)
    verified = openssl("verify", "-CAfile", str(chain), str(first / "cert.pem"))
    assert verified.stdout.strip() == f"{first / 'cert.pem'}: OK"
    issued = IssuedCertificate.objects.get(template=template)
    assert issued.certificate == certificate
    state = DeviceCertificateState.objects.get(device=device, profile=profile)
    assert (state.state, state.certificate) == (CertificateState.ISSUED, issued)

    # The same challenge, another subject, another key: refused (already used) and recorded.
    replay = new_run(tmp_path, "replay")
    replayed = scepclient(scep_url, replay, challenge=challenge, common_name="mallory")
    assert replayed.returncode != 0
    assert "badRequest" in replayed.stdout + replayed.stderr
    assert not (replay / "cert.pem").exists()
    used = ConnectorEvent.objects.filter(
        event_id=EventId.SCEP_VERIFY_FAILURE,
        message="the challenge has already been used",
        service_slug=scep_service.slug,
    )
    assert used.count() == 1

    # A fresh challenge presented with another subject: refused as a subject name mismatch.
    fresh = checkin(live_server.url, device.external_id, token)["scep"][0]["challenge"]
    assert fresh != challenge
    mismatch = new_run(tmp_path, "mismatch")
    refused = scepclient(scep_url, mismatch, challenge=fresh, common_name="mallory")
    assert refused.returncode != 0
    assert "badRequest" in refused.stdout + refused.stderr
    subject_mismatch = ConnectorEvent.objects.filter(
        event_id=EventId.SCEP_VERIFY_FAILURE,
        message="subject name in the request (CN=mallory,OU=MDM,O=scep-client,C=US) "
        "does not match the challenge's",
    )
    assert subject_mismatch.count() == 1

    # Nothing else was issued, and the device still holds its certificate.
    assert list(IssuedCertificate.objects.filter(template=template)) == [issued]
    state.refresh_from_db()
    assert (state.state, state.certificate) == (CertificateState.ISSUED, issued)
