"""The whole Intune flow with one command, over real HTTPS: ``manage.py scep_enroll --from-checkin`` checks in
as the device, takes the SCEP profile's server URL, rendered subject, SANs (a UPN), key size and one-time
challenge from the JSON payload, makes the key and the CSR, and enrolls at a strict (non-legacy) SCEP
service. The live server sits behind a TLS proxy with a certificate of its own CA (``--cafile``).
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from django.core.management import CommandError, call_command

from ca.crypto.identities import upn_from_general_name, upn_general_name
from ca.models import IssuedCertificate
from ca.tests.pki import openssl, write_pem
from directory.services.checkin_tokens import device_checkin_token_rotate
from enrollment.choices import TransactionStatus
from enrollment.models import ScepTransaction
from enrollment.tests.tls import HttpsProxy, https_proxy
from eventlog.choices import EventId
from eventlog.models import ConnectorEvent
from profiles.choices import CertificateState
from profiles.models import DeviceCertificateState, DeviceChallenge

os.environ.setdefault("DJANGO_LIVE_TEST_SERVER_ADDRESS", "127.0.0.1")

SUBJECT_FORMAT = "CN={{UserName}},OU=Mobile,O=certportal tests"
EXPECTED_SUBJECT = x509.Name(
    [
        x509.NameAttribute(NameOID.COMMON_NAME, "jdoe"),
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "Mobile"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "certportal tests"),
    ]
)
UPN = "jdoe@corp.example.com"


@pytest.fixture
def proxy(live_server, tmp_path) -> Iterator[HttpsProxy]:
    with https_proxy(live_server.url, tmp_path) as running:
        yield running


@pytest.fixture
def strict_service(scep_service):
    """The profiles' SCEP service without legacy algorithms: AES and SHA-256 only."""
    scep_service.allow_legacy_algorithms = False
    scep_service.save(update_fields=["allow_legacy_algorithms"])
    return scep_service


@pytest.fixture
def upn_profile(assign_to_users, strict_service, proxy):
    return assign_to_users(
        name="iOS user UPN",
        subject_name_format_string=SUBJECT_FORMAT,
        subject_alternative_names=[{"type": "upn", "value": "{{UserPrincipalName}}"}],
        scep_server_urls=[f"{proxy.url}/scep/{strict_service.slug}"],
    )


def enroll(proxy: HttpsProxy, device, token: str, tmp_path: Path, *extra: str, cafile: Path | None = None):
    call_command(
        "scep_enroll",
        "--from-checkin", f"{proxy.url}/api/v1/checkin/",
        "--device", device.external_id,
        "--device-token", token,
        "--cafile", str(cafile or proxy.cafile),
        "--key", str(tmp_path / "device.key"),
        "--out", str(tmp_path / "device.pem"),
        *extra,
    )  # fmt: skip


def sans_of(certificate: x509.Certificate) -> list[x509.GeneralName]:
    return list(certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value)


def test_a_device_checks_in_and_enrolls_with_one_command(
    upn_profile, strict_service, device, pki, proxy, tmp_path, capsys
):
    token = device_checkin_token_rotate(device=device)

    enroll(proxy, device, token, tmp_path)

    certificate = x509.load_pem_x509_certificate((tmp_path / "device.pem").read_bytes())
    assert certificate.subject == EXPECTED_SUBJECT
    assert sans_of(certificate) == [upn_general_name(UPN)]
    assert upn_from_general_name(sans_of(certificate)[0]) == UPN  # otherName 1.3.6.1.4.1.311.20.2.3
    # openssl agrees: the chain verifies, the SAN is a UPN otherName.
    chain = write_pem(tmp_path / "chain.pem", pki.issuing.certificate, pki.root.certificate)
    verified = openssl("verify", "-CAfile", str(chain), str(tmp_path / "device.pem"))
    assert verified.stdout.strip() == f"{tmp_path / 'device.pem'}: OK"
    text = openssl("x509", "-in", str(tmp_path / "device.pem"), "-noout", "-ext", "subjectAltName").stdout
    assert f"othername: UPN::{UPN}" in text, text  # openssl names a UTF8String UPN only
    # The key the command made: the profile's size, only for its owner, the certificate's.
    key_file = tmp_path / "device.key"
    key = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    assert key.key_size == upn_profile.key_size == 2048
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert certificate.public_key() == key.public_key()
    # A strict service: AES and SHA-256, no legacy algorithms; the challenge was the device's.
    transaction = ScepTransaction.objects.get()
    assert (transaction.service, transaction.status) == (strict_service, TransactionStatus.SUCCESS)
    assert not transaction.service.allow_legacy_algorithms
    assert transaction.challenge is not None
    assert transaction.challenge.device == device
    issued = IssuedCertificate.objects.get()
    assert issued.certificate == certificate
    state = DeviceCertificateState.objects.get(device=device, profile=upn_profile)
    assert (state.state, state.certificate) == (CertificateState.ISSUED, issued)
    granted = ConnectorEvent.objects.get(event_id=EventId.CRP_VERIFY_SUCCESS)
    assert (granted.device_external_id, granted.user_principal_name) == (device.external_id, UPN)
    out = capsys.readouterr().out
    assert "SCEP profile 'iOS user UPN'" in out
    assert f"issued {certificate.subject.rfc4514_string()}" in out


def test_the_profile_is_chosen_by_name_when_several_apply(
    upn_profile, assign_to_users, strict_service, device, proxy, tmp_path
):
    assign_to_users(
        name="iOS user email",
        subject_name_format_string="CN={{UserName}},O=certportal tests",
        subject_alternative_names=[{"type": "email", "value": "{{EmailAddress}}"}],
        scep_server_urls=[f"{proxy.url}/scep/{strict_service.slug}"],
    )
    token = device_checkin_token_rotate(device=device)

    with pytest.raises(CommandError, match=r"has 2 SCEP profiles .*choose with --profile"):
        enroll(proxy, device, token, tmp_path)
    with pytest.raises(CommandError, match=r"no SCEP profile 'nope'"):
        enroll(proxy, device, token, tmp_path, "--profile", "nope")
    assert ScepTransaction.objects.count() == 0

    enroll(proxy, device, token, tmp_path, "--profile", "iOS user email")

    certificate = x509.load_pem_x509_certificate((tmp_path / "device.pem").read_bytes())
    assert sans_of(certificate) == [x509.RFC822Name("jdoe@corp.example.com")]
    assert IssuedCertificate.objects.count() == 1


def test_https_is_verified_against_the_ca_file(upn_profile, device, proxy, tmp_path, pki):
    token = device_checkin_token_rotate(device=device)
    other_ca = write_pem(tmp_path / "other-ca.pem", pki.root.certificate)  # not the TLS server's CA

    with pytest.raises(CommandError, match="CERTIFICATE_VERIFY_FAILED"):
        enroll(proxy, device, token, tmp_path, cafile=other_ca)

    assert not (tmp_path / "device.pem").exists()
    assert ScepTransaction.objects.count() == 0


def test_a_wrong_device_token_is_reported(upn_profile, device, proxy, tmp_path):
    device_checkin_token_rotate(device=device)

    with pytest.raises(CommandError, match=r"check-in: HTTP 401"):
        enroll(proxy, device, "not-the-token", tmp_path)


def test_a_redirect_of_the_checkin_is_reported_not_followed(upn_profile, device, proxy, tmp_path):
    """The device token goes only to the URL it was given (here Django's APPEND_SLASH would redirect)."""
    token = device_checkin_token_rotate(device=device)

    with pytest.raises(CommandError, match=r"check-in: HTTP 301 \(to /api/v1/checkin/; give that URL\)"):
        call_command(
            "scep_enroll",
            "--from-checkin", f"{proxy.url}/api/v1/checkin",
            "--device", device.external_id,
            "--device-token", token,
            "--cafile", str(proxy.cafile),
            "--key", str(tmp_path / "device.key"),
            "--out", str(tmp_path / "device.pem"),
        )  # fmt: skip

    assert not DeviceChallenge.objects.exists()  # the check-in at the new URL never happened


def test_an_existing_key_of_another_size_is_refused_before_anything_is_sent(
    upn_profile, device, proxy, tmp_path
):
    token = device_checkin_token_rotate(device=device)
    small = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    (tmp_path / "device.key").write_bytes(
        small.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )

    with pytest.raises(CommandError, match="is a 3072-bit key; the profile asks for 2048 bits"):
        enroll(proxy, device, token, tmp_path)

    assert ScepTransaction.objects.count() == 0


def test_manage_py_enrolls_from_the_checkin_as_a_separate_process(
    upn_profile, device, proxy, tmp_path, settings
):
    """The tester's command line, in its own process (it needs no database: HTTP and JSON only)."""
    token = device_checkin_token_rotate(device=device)
    manage = Path(settings.BASE_DIR) / "manage.py"

    result = subprocess.run(
        [
            sys.executable, str(manage),
            "scep_enroll",
            "--from-checkin", f"{proxy.url}/api/v1/checkin/",
            "--device", device.external_id,
            "--device-token", token,
            "--cafile", str(proxy.cafile),
            "--key", str(tmp_path / "cli.key"),
            "--out", str(tmp_path / "cli.pem"),
        ],
        capture_output=True, text=True, timeout=120, check=False,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "portal.settings.test"},
    )  # fmt: skip

    assert result.returncode == 0, result.stdout + result.stderr
    certificate = x509.load_pem_x509_certificate((tmp_path / "cli.pem").read_bytes())
    assert certificate.subject == EXPECTED_SUBJECT
    assert sans_of(certificate) == [upn_general_name(UPN)]
