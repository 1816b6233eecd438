"""The portal's own TLS server certificate: issued on the RA side through the request queue (the CA task
signs), written as PEM files with an atomic switch, renewed by the hourly job, each failure recorded.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import stat
from pathlib import Path

import pytest

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from django.conf import settings as django_settings
from django.core.management import CommandError, call_command
from django.utils import timezone

from ca.jobs import server_certificate_renew_task
from ca.models import CertificateRequest, CertificateTemplate, IssuedCertificate
from ca.services.server_certificates import (
    SERVER_TEMPLATE_NAME,
    ServerNames,
    server_certificate_renew_due,
)
from ca.tests.ocsp import dispatch_at_once
from ca.tests.pki import openssl_verify
from ca.tls_directory import TlsDirectory, TlsDirectoryError
from core.exceptions import ApplicationError
from eventlog.choices import DiagnosticCode, EventId, EventLevel
from eventlog.models import ConnectorEvent

NAME = "scep.example.test"


@pytest.fixture
def tls_dir(tmp_path: Path, settings, monkeypatch) -> TlsDirectory:
    dispatch_at_once(monkeypatch)
    settings.CERTPORTAL_TLS_DIR = str(tmp_path / "tls")
    return TlsDirectory(tmp_path / "tls")


def _issue(pki, *extra: str) -> str:
    call_command(
        "tls_certificate", "--ca", pki.issuing.slug, "--name", NAME, "--dns", "ndes.corp.test",
        "--ip", "10.0.0.5", "--wait", "5", *extra, stdout=(out := _Out()),
    )  # fmt: skip
    return out.text


class _Out:
    def __init__(self) -> None:
        self.text = ""

    def write(self, text: str) -> None:
        self.text += text

    def flush(self) -> None:
        pass


def _served(directory: TlsDirectory) -> x509.Certificate:
    certificate = directory.current_certificate()
    assert certificate is not None
    return certificate


def _events() -> list[ConnectorEvent]:
    return list(ConnectorEvent.objects.filter(event_id__in={10100, 10102, 10301, 10302}).order_by("id"))


def test_the_command_issues_a_server_authentication_certificate_for_the_public_and_internal_names(
    pki, tls_dir, tmp_path
):
    output = _issue(pki)

    current = tls_dir.current
    certificate = _served(tls_dir)
    assert certificate.subject == x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, NAME)])
    sans = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.DNSName) == [NAME, "ndes.corp.test"]
    assert sans.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("10.0.0.5")]
    eku = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.SERVER_AUTH]
    usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature
    assert usage.key_encipherment
    # The key was generated here (RSA 2048 by default), is the certificate's, and only its owner reads it.
    key = serialization.load_pem_private_key((current / "privkey.pem").read_bytes(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    assert key.key_size == 2048
    assert key.public_key() == certificate.public_key()
    assert stat.S_IMODE((current / "privkey.pem").stat().st_mode) == 0o600
    assert stat.S_IMODE((current / "fullchain.pem").stat().st_mode) == 0o644
    # chain.pem: the issuing CA (not the root); fullchain.pem: what the server presents.
    chain = x509.load_pem_x509_certificates((current / "chain.pem").read_bytes())
    assert chain == [pki.issuing.certificate]
    assert x509.load_pem_x509_certificates((current / "fullchain.pem").read_bytes()) == [
        certificate,
        pki.issuing.certificate,
    ]
    assert current.readlink().parts[0] == "releases"  # relative: the same in every container
    openssl_verify(tmp_path, certificate, pki.issuing.certificate, pki.root.certificate, purpose="sslserver")
    # Signed through the CA's queue, under the WebServer template, which is now published to the CA.
    issued = IssuedCertificate.objects.get(fingerprint_sha256=_sha256(certificate))
    assert issued.template.name == SERVER_TEMPLATE_NAME
    assert issued.request is not None
    assert issued.request.requester == f"tls:{NAME}"
    assert pki.issuing.published_templates.filter(name=SERVER_TEMPLATE_NAME).exists()
    assert str(current / "fullchain.pem") in output


def test_a_valid_certificate_for_the_same_names_is_kept_and_force_or_other_names_replace_it(pki, tls_dir):
    _issue(pki)
    first = _served(tls_dir)

    assert "left as is" in _issue(pki)
    assert _served(tls_dir) == first
    assert CertificateRequest.objects.count() == 1

    _issue(pki, "--force")
    second = _served(tls_dir)
    assert second.serial_number != first.serial_number
    call_command("tls_certificate", "--ca", pki.issuing.slug, "--name", NAME, "--wait", "5", stdout=_Out())
    third = _served(tls_dir)
    assert third.serial_number != second.serial_number
    assert third.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(
        x509.DNSName
    ) == [NAME]
    # The served release and the one before it stay; older ones are removed.
    assert len(list(tls_dir.releases.iterdir())) == 2


def test_an_ec_key_gets_key_agreement_instead_of_key_encipherment(pki, tls_dir, tmp_path):
    _issue(pki, "--key", "EC-P256")

    certificate = _served(tls_dir)
    assert isinstance(certificate.public_key(), ec.EllipticCurvePublicKey)
    usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    assert (usage.digital_signature, usage.key_encipherment, usage.key_agreement) == (True, False, True)
    openssl_verify(tmp_path, certificate, pki.issuing.certificate, pki.root.certificate, purpose="sslserver")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--name", "*.example.test"], "is not a DNS name"),
        (["--name", NAME, "--ip", "10.0.0.300"], "is not an IP address"),
        (["--name", NAME, "--key", "RSA-1024"], "unsupported key"),
        (["--name", NAME, "--template", "TestClientAuth"], "does not allow Server Authentication"),
        (["--name", NAME, "--template", "Nope"], "no certificate template named"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_issued(pki, tls_dir, options, message):
    with pytest.raises(CommandError, match=message):
        call_command("tls_certificate", "--ca", pki.issuing.slug, *options, "--wait", "5")

    assert not CertificateRequest.objects.exists()
    assert tls_dir.current_certificate() is None


def test_a_directory_that_cannot_be_written_fails_before_anything_is_issued(pki, tmp_path, monkeypatch):
    dispatch_at_once(monkeypatch)
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")

    with pytest.raises(CommandError, match="cannot write"):
        call_command(
            "tls_certificate", "--ca", pki.issuing.slug, "--name", NAME, "--dir", str(blocker / "tls")
        )
    assert not CertificateRequest.objects.exists()


def test_a_template_that_needs_approval_leaves_the_files_as_they_were(pki, tls_dir):
    _issue(pki)
    first = _served(tls_dir)
    CertificateTemplate.objects.filter(name=SERVER_TEMPLATE_NAME).update(requires_approval=True)

    with pytest.raises(CommandError, match="did not issue the TLS server certificate"):
        _issue(pki, "--force")
    assert _served(tls_dir) == first


def _left(certificate: x509.Certificate, share: float) -> dt.datetime:
    lifetime = certificate.not_valid_after_utc - certificate.not_valid_before_utc
    return certificate.not_valid_after_utc - lifetime * share


def test_the_job_is_on_the_beat_schedule_and_the_default_queue():
    entry = django_settings.CELERY_BEAT_SCHEDULE["server-certificate-renewal"]
    assert entry["task"] == server_certificate_renew_task.name
    assert entry["schedule"] == 3600
    route = server_certificate_renew_task.app.amqp.router.route({}, entry["task"], args=(), kwargs={})
    assert route["queue"].name == "default"


def test_the_job_renews_past_the_threshold_as_the_certificate_was(pki, tls_dir, time_machine):
    _issue(pki, "--key", "EC-P256")
    old = _served(tls_dir)
    old_key = (tls_dir.current / "privkey.pem").read_bytes()
    time_machine.move_to(_left(old, 0.34), tick=False)  # the default threshold: a third left
    assert server_certificate_renew_task.delay().get() is None
    assert _events() == []

    time_machine.move_to(_left(old, 0.3), tick=False)
    renewed_id = server_certificate_renew_task.delay().get()

    new = _served(tls_dir)
    assert new.serial_number != old.serial_number
    assert ServerNames.from_certificate(new) == ServerNames.from_certificate(old)
    assert new.issuer == old.issuer
    assert isinstance(new.public_key(), ec.EllipticCurvePublicKey)
    assert (tls_dir.current / "privkey.pem").read_bytes() != old_key  # a new key pair
    assert new.not_valid_after_utc > old.not_valid_after_utc
    assert renewed_id is not None
    issued = IssuedCertificate.objects.get(pk=renewed_id)
    assert issued.fingerprint_sha256 == _sha256(new)
    (event,) = _events()
    assert (event.event_id, event.level, event.diagnostic_code) == (
        EventId.CERTIFICATE_RENEWAL_SUCCESS,
        EventLevel.INFORMATION,
        DiagnosticCode.SUCCESS,
    )
    assert event.thumbprint == issued.fingerprint_sha1
    assert event.authority_slug == pki.issuing.slug
    assert NAME in event.message


def test_a_revoked_certificate_is_renewed_at_once(pki, tls_dir):
    _issue(pki)
    old = _served(tls_dir)
    # What the CA worker's revocation leaves in the row (the renewal reads nothing else).
    IssuedCertificate.objects.filter(fingerprint_sha256=_sha256(old)).update(
        revoked_at=timezone.now(), revocation_reason="key_compromise"
    )

    new = server_certificate_renew_due(wait=5)

    assert new is not None
    assert _served(tls_dir).serial_number != old.serial_number
    assert "it was revoked" in _events()[-1].message


def test_a_failed_renewal_is_recorded_and_leaves_the_served_files(pki, tls_dir, time_machine):
    _issue(pki)
    old = _served(tls_dir)
    pki.issuing.enabled = False
    pki.issuing.save(update_fields=["enabled"])
    time_machine.move_to(_left(old, 0.1), tick=False)

    assert server_certificate_renew_due(wait=5) is None

    assert _served(tls_dir) == old
    (event,) = _events()
    assert (event.event_id, event.level, event.diagnostic_code) == (
        EventId.CERTIFICATE_RENEWAL_FAILURE,
        EventLevel.ERROR,
        DiagnosticCode.UNKNOWN_ERROR,
    )
    assert "is disabled" in event.message
    assert event.details["tls_directory"] == str(tls_dir.path)

    time_machine.move_to(old.not_valid_after_utc + dt.timedelta(hours=1), tick=False)
    assert server_certificate_renew_due(wait=5) is None
    assert _events()[-1].diagnostic_code == DiagnosticCode.CERTIFICATE_EXPIRED


def test_a_certificate_none_of_our_cas_issued_is_not_renewed(pki, tls_dir, rsa2048_key):
    foreign = _self_signed(rsa2048_key)
    with tls_dir.locked():
        tls_dir.install(key=rsa2048_key, certificate=foreign, chain=[])

    assert server_certificate_renew_due(wait=5) is None

    (event,) = _events()
    assert (event.event_id, event.diagnostic_code) == (
        EventId.RETRIEVE_CERTIFICATE_WARNING,
        DiagnosticCode.CERT_THUMBPRINT_NOT_FOUND,
    )
    assert not CertificateRequest.objects.exists()


def test_an_unreadable_certificate_file_is_recorded(pki, tls_dir):
    _issue(pki)
    (tls_dir.current / "cert.pem").write_text("garbage")

    assert server_certificate_renew_due(wait=5) is None

    (event,) = _events()
    assert (event.event_id, event.diagnostic_code) == (
        EventId.RETRIEVE_CERTIFICATE_ERROR,
        DiagnosticCode.CERTIFICATE_NOT_FOUND,
    )


def test_nothing_installed_or_no_directory_configured_is_nothing_to_do(pki, tls_dir, settings):
    assert server_certificate_renew_due() is None
    settings.CERTPORTAL_TLS_DIR = ""
    assert server_certificate_renew_due() is None
    assert _events() == []


def test_the_directory_refuses_a_key_that_is_not_the_certificates(tmp_path, rsa2048_key, other_rsa2048_key):
    directory = TlsDirectory(tmp_path / "tls")
    with pytest.raises(TlsDirectoryError, match="does not belong"), directory.locked():
        directory.install(key=other_rsa2048_key, certificate=_self_signed(rsa2048_key), chain=[])
    assert directory.current_certificate() is None


def test_the_files_keep_their_modes_whatever_the_umask(tmp_path, rsa2048_key):
    directory = TlsDirectory(tmp_path / "tls")
    previous = os.umask(0o077)
    try:
        with directory.locked():
            directory.install(key=rsa2048_key, certificate=_self_signed(rsa2048_key), chain=[])
    finally:
        os.umask(previous)
    assert stat.S_IMODE((directory.current / "cert.pem").stat().st_mode) == 0o644
    assert stat.S_IMODE((directory.current / "privkey.pem").stat().st_mode) == 0o600


@pytest.mark.parametrize(
    ("common_name", "dns", "ips", "expected"),
    [
        ("Portal.Example.TEST.", ["portal.example.test", "b.test", "b.test"], ["::1", "::1"],
         ServerNames("portal.example.test", ("b.test",), (ipaddress.ip_address("::1"),))),
        ("localhost", [], ["127.0.0.1"], ServerNames("localhost", (), (ipaddress.ip_address("127.0.0.1"),))),
    ],
)  # fmt: skip
def test_server_names_are_normalised(common_name, dns, ips, expected):
    assert ServerNames.parse(common_name=common_name, dns_names=dns, ip_addresses=ips) == expected


@pytest.mark.parametrize("bad", ["", "a..b", "-a.test", "a_b.test", "*.a.test", "a" * 65, "10.0.0.1 x"])
def test_bad_server_names_are_refused(bad):
    with pytest.raises(ApplicationError) as caught:
        ServerNames.parse(common_name=bad)
    assert caught.value.code == "server_name_invalid"


def _sha256(certificate: x509.Certificate) -> str:
    return certificate.fingerprint(hashes.SHA256()).hex().upper()


def _self_signed(key: rsa.RSAPrivateKey) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "foreign.test")])
    now = dt.datetime.now(tz=dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
