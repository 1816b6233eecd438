"""``manage.py ca_rollover`` end to end: prepare, GetNextCACert, trusted roots, the beat switch, cancel.

The database is committed (``live_server`` / ``transactional_db``): the rollover request and the RA's
certificate request reach the (eager) CA tasks on commit, as they reach the CA worker in production.
The PKI is the session's (``pki``: Test Root CA -> Test Issuing CA); the profiles are the profiles tests'
(an iOS device whose user is in a group with a SCEP profile of the issuing CA and the root's trusted
certificate profile; the SCEP service /scep/profiles of the issuing CA).
"""

from __future__ import annotations

import datetime as dt
import io
import plistlib

import pytest
import time_machine

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa

from django.core.management import CommandError, call_command
from django.utils import timezone

from ca.choices import RolloverStatus
from ca.dispatch import ca_task_send
from ca.exceptions import PolicyViolation
from ca.messages import CrlRefreshMessage
from ca.models import AuthorityRollover, CertificateAuthority, CertificateRevocationList, IssuedCertificate
from ca.selectors import crl_get_latest
from ca.services import rollover as ca_rollover_services
from ca.services.submission import certificate_request_submit
from ca.tests.pki import make_csr, openssl_verify
from enrollment import scep
from enrollment.models import RegistrationAuthority, ScepService
from enrollment.scep.signeddata import parse_signed_data
from portal.celery import app
from portal.jobs import ca_rollover_switch_due_task
from profiles.models import ScepProfile, TrustedRootProfile
from profiles.services.checkin import device_checkin
from profiles.services.payloads import checkin_as_mobileconfig
from profiles.tests.fixtures import build_csr, scep_enroll

TIMEOUT = 30


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("ca_rollover", *args, stdout=out)
    return out.getvalue()


def caps(client, slug: str = "profiles") -> list[str]:
    body: bytes = client.get(f"/scep/{slug}", {"operation": "GetCACaps"}).content
    return body.decode("ascii").split()


def successor_of(authority: CertificateAuthority) -> CertificateAuthority:
    successor = AuthorityRollover.objects.get(authority=authority).successor
    assert successor is not None
    return successor


def latest_crl(authority: CertificateAuthority) -> CertificateRevocationList:
    crl = crl_get_latest(authority=authority)
    assert crl is not None
    return crl


def colon(hex_digest: str) -> str:
    return ":".join(hex_digest[i : i + 2] for i in range(0, len(hex_digest), 2))


def payload_roots(device) -> list[bytes]:
    """The DER root certificates of the device's .mobileconfig, as the device reads them."""
    plist = plistlib.loads(checkin_as_mobileconfig(device_checkin(device=device)))
    return [
        bytes(item["PayloadContent"])
        for item in plist["PayloadContent"]
        if item["PayloadType"] == "com.apple.security.root"
    ]


def enroll(client, device, key: rsa.RSAPrivateKey) -> x509.Certificate:
    """Check the device in and enroll through /scep/profiles with its one-time challenge."""
    (delivery,) = device_checkin(device=device).scep
    assert delivery.challenge, delivery.problem
    assert delivery.rendered is not None
    csr = build_csr(key, delivery.rendered.subject, delivery.rendered.sans, challenge=delivery.challenge)
    exchange = scep_enroll(client, ScepService.objects.get(slug="profiles"), key, csr)
    assert exchange.reply.status is scep.PkiStatus.SUCCESS, exchange.reply.fail_info_text
    assert exchange.reply.certificate is not None
    return exchange.reply.certificate


@pytest.mark.usefixtures("assigned")
def test_roll_root_and_issuing_ca_then_switch_by_beat(
    live_server, client, pki, scep_service, root_profile, device, rsa2048_key, other_rsa2048_key, tmp_path
):
    # The root first: its successor is a new self-signed root, published next to the old one.
    out = run("prepare", "--ca", "test-root")
    next_root = successor_of(pki.root)
    assert next_root.is_root
    assert f"next CA SHA-256 fingerprint: {colon(next_root.fingerprint_sha256)}" in out
    assert "trusted certificate profile 'Test Root CA (iOS) (test-root-2)' (ios) created" in out
    assert "SCEP services: none use test-root" in out
    next_root_profile = TrustedRootProfile.objects.get(authority=next_root)
    assert payload_roots(device) == [pki.root.certificate_der, next_root.certificate_der]

    # The issuing CA under the next root: a next RA, and GetNextCACert.
    out = run("prepare", "--ca", "test-issuing", "--parent", "test-root-2", "--key", "RSA-3072")
    rollover = AuthorityRollover.objects.get(authority=pki.issuing)
    next_issuing = successor_of(pki.issuing)
    assert (next_issuing.parent, next_issuing.key_size) == (next_root, 3072)
    next_ra = RegistrationAuthority.objects.get(authority=next_issuing)
    assert f"next CA SHA-256 fingerprint: {colon(next_issuing.fingerprint_sha256)}" in out
    assert f"SCEP service profiles: next RA {next_ra.name} issued" in out
    openssl_verify(tmp_path, next_issuing.certificate, next_root.certificate, purpose="any")
    openssl_verify(
        tmp_path, next_ra.certificate, next_issuing.certificate, next_root.certificate, purpose="any"
    )
    assert "GetNextCACert" in caps(client)

    current_ra = scep_service.registration_authority.certificate
    scep_client = scep.ScepClient(
        f"{live_server.url}/scep/profiles",
        timeout=TIMEOUT,
        ca_fingerprint=pki.issuing.certificate.fingerprint(hashes.SHA256()),
    )
    upcoming = scep_client.get_next_ca_cert()  # verified against the current GetCACert certificates
    assert upcoming == [next_ra.certificate, next_issuing.certificate, next_root.certificate]
    reply = client.get("/scep/profiles", {"operation": "GetNextCACert"})
    assert parse_signed_data(reply.content, extra_certificates=[current_ra]).signer_certificate == current_ra

    # Before the switch the old chain issues.
    before = enroll(client, device, rsa2048_key)
    assert before.issuer == pki.issuing.certificate.subject
    before.verify_directly_issued_by(pki.issuing.certificate)

    # Scheduled switch, carried out by beat once its time has come.
    at = (timezone.now() + dt.timedelta(hours=2)).replace(microsecond=0)
    out = run("switch", "--ca", "test-issuing", "--at", at.isoformat())
    assert f"switches at {at:%Y-%m-%d %H:%M:%S} UTC" in out
    assert ca_rollover_switch_due_task() == []  # not yet
    with time_machine.travel(at + dt.timedelta(minutes=1), tick=False):
        assert ca_rollover_switch_due_task() == [rollover.pk]
        assert ca_rollover_switch_due_task() == []  # idempotent
    rollover.refresh_from_db()
    assert rollover.status == RolloverStatus.SWITCHED

    service = ScepService.objects.get(pk=scep_service.pk)
    assert (service.authority, service.registration_authority) == (next_issuing, next_ra)
    assert service.next_registration_authority is None
    assert "GetNextCACert" not in caps(client)
    profile = ScepProfile.objects.get()
    assert (profile.authority, profile.root_profile, profile.version) == (next_issuing, next_root_profile, 2)
    assert not IssuedCertificate.objects.get(fingerprint_sha256=_sha256(before)).revoked_at

    # New enrollments come from the successor, chained to the next root.
    after = enroll(client, device, other_rsa2048_key)
    assert after.issuer == next_issuing.certificate.subject
    after.verify_directly_issued_by(next_issuing.certificate)
    openssl_verify(tmp_path, after, next_issuing.certificate, next_root.certificate)
    assert payload_roots(device) == [pki.root.certificate_der, next_root.certificate_der]

    # The old issuing CA issues nothing new, and still publishes its CRL.
    with pytest.raises(PolicyViolation):
        certificate_request_submit(
            authority=pki.issuing,
            template=pki.template,
            csr=make_csr(rsa2048_key, common_name="after-the-switch")[0],
            subject=x509.Name.from_rfc4514_string("CN=after-the-switch"),
            requester="test",
        )
    number = latest_crl(pki.issuing).number
    with time_machine.travel(timezone.now() + dt.timedelta(days=4), tick=False):
        ca_task_send(CrlRefreshMessage())
    crl = latest_crl(pki.issuing)
    assert crl.number > number
    assert x509.load_der_x509_crl(bytes(crl.der)).is_signature_valid(pki.issuing.certificate.public_key())
    assert client.get("/crl/test-issuing.crl").status_code == 200

    # A second switch is refused, and nothing changes.
    with pytest.raises(CommandError, match=r"no rollover under way to switch .* switched since"):
        run("switch", "--ca", "test-issuing")
    out = run("status", "--ca", "test-issuing")
    assert f"rollover {rollover.pk} of test-issuing to test-issuing-2: switched" in out

    # The next root signs the CA in use now: its rollover is no longer cancelled, and nothing changes.
    with pytest.raises(CommandError, match=r"has signed CA\(s\) in use \(test-issuing-2\)"):
        run("cancel", "--ca", "test-root")
    next_root.refresh_from_db()
    assert next_root.enabled
    assert TrustedRootProfile.objects.filter(pk=next_root_profile.pk).exists()
    assert AuthorityRollover.objects.get(authority=pki.root).status == RolloverStatus.PREPARED


def _sha256(certificate: x509.Certificate) -> str:
    return certificate.fingerprint(hashes.SHA256()).hex().upper()


@pytest.mark.usefixtures("assigned")
def test_cancel_before_the_switch_withdraws_the_next_ra_and_root(
    transactional_db, client, pki, scep_service, device
):
    run("prepare", "--ca", "test-issuing")
    assert "GetNextCACert" in caps(client)
    assert client.get("/scep/profiles", {"operation": "GetNextCACert"}).status_code == 200
    run("prepare", "--ca", "test-root")
    assert len(payload_roots(device)) == 2

    out = run("cancel", "--ca", "test-issuing")

    assert "SCEP service profiles: next RA withdrawn" in out
    assert "GetNextCACert" not in caps(client)
    assert client.get("/scep/profiles", {"operation": "GetNextCACert"}).status_code == 404
    assert not CertificateAuthority.objects.get(slug="test-issuing-2").enabled
    assert ScepService.objects.get(slug="profiles").authority == pki.issuing

    out = run("cancel", "--ca", "test-root")
    assert "trusted certificate profile 'Test Root CA (iOS) (test-root-2)' deleted" in out
    assert payload_roots(device) == [pki.root.certificate_der]
    with pytest.raises(CommandError, match="no rollover under way to cancel"):
        run("cancel", "--ca", "test-root")
    with pytest.raises(CommandError, match=r"no rollover under way to switch .* cancelled"):
        run("switch", "--ca", "test-issuing")


@pytest.mark.usefixtures("assigned")
def test_switch_before_prepared_is_refused(transactional_db, client, pki, scep_service, monkeypatch):
    with pytest.raises(CommandError, match="no rollover under way to switch"):
        run("switch", "--ca", "test-issuing")

    def broker_down(*args, **kwargs):
        raise ConnectionError("broker unreachable")

    monkeypatch.setattr(ca_rollover_services, "ca_task_send", broker_down)
    with pytest.raises(CommandError, match="has not created the next CA of test-issuing within 0 s"):
        run("prepare", "--ca", "test-issuing", "--wait", "0")
    assert AuthorityRollover.objects.get().status == RolloverStatus.REQUESTED

    for args in (
        ("switch", "--ca", "test-issuing"),
        ("switch", "--ca", "test-issuing", "--at", "2099-01-01T00:00Z"),
    ):
        with pytest.raises(CommandError, match="requested, not prepared"):
            run(*args)
    assert "not ready: the CA worker has not created the next CA yet" in run("status", "--ca", "test-issuing")
    service = ScepService.objects.get(pk=scep_service.pk)
    assert (service.authority, service.next_registration_authority) == (pki.issuing, None)
    assert set(pki.issuing.published_templates.all()) >= {pki.template}
    assert AuthorityRollover.objects.get().switch_at is None

    # Once the CA worker is back, prepare completes the same rollover.
    monkeypatch.undo()
    out = run("prepare", "--ca", "test-issuing")
    assert "next CA of test-issuing is test-issuing-2" in out
    assert AuthorityRollover.objects.get().status == RolloverStatus.PREPARED
    assert "GetNextCACert" in caps(client)


def test_prepare_refusals_are_clear_and_write_nothing(transactional_db, pki):
    with pytest.raises(CommandError, match="no CA with slug 'nope'"):
        run("prepare", "--ca", "nope")
    with pytest.raises(CommandError, match="unsupported CA key 'DSA-1024'"):
        run("prepare", "--ca", "test-issuing", "--key", "DSA-1024")
    with pytest.raises(CommandError, match="is a root"):
        run("prepare", "--ca", "test-root", "--parent", "test-issuing")
    with pytest.raises(CommandError, match="--at 'tomorrow' is not an ISO 8601 time"):
        run("switch", "--ca", "test-issuing", "--at", "tomorrow")
    assert not AuthorityRollover.objects.exists()
    assert CertificateAuthority.objects.count() == 2

    run("prepare", "--ca", "test-issuing")
    with pytest.raises(CommandError, match="under way already \\(key RSA-2048, not RSA-4096\\)"):
        run("prepare", "--ca", "test-issuing", "--key", "RSA-4096")
    assert CertificateAuthority.objects.count() == 3


def test_the_beat_job_is_found_by_name():
    """Beat sends it by name (``CELERY_BEAT_SCHEDULE``): the workers' autodiscovery must register it."""
    app.loader.import_default_modules()
    assert "portal.jobs.ca_rollover_switch_due_task" in app.tasks
