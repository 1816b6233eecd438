"""Delegated OCSP responders: created on the RA side, signed by the CA through the request queue, renewed
by the beat job at half their lifetime; and the CA's OCSP URL in what it issues.
"""

from __future__ import annotations

import datetime as dt
import importlib

import pytest

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509 import ocsp
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID

from celery import current_app as celery_app
from django.apps import apps
from django.conf import settings as django_settings
from django.core.management import CommandError, call_command

from ca.choices import TemplatePurpose
from ca.crypto.keys import KeySpec
from ca.crypto.ocsp import load_responder_key
from ca.exceptions import AuthorityUnavailable
from ca.jobs import ocsp_responder_refresh_task
from ca.models import CertificateAuthority, CertificateRequest, IssuedCertificate, OcspResponder
from ca.selectors import ocsp_responder_get_current
from ca.services.authorities import authority_create, authority_urls
from ca.services.ocsp import (
    OCSP_TEMPLATE_NAME,
    OcspResponderUnavailable,
    ocsp_request_answer,
    ocsp_responder_create,
    ocsp_responder_refresh,
)
from ca.tests.ocsp import clear_ocsp_caches, dispatch_at_once, make_responder, ocsp_request
from ca.tests.pki import openssl_text, openssl_verify


@pytest.fixture(autouse=True)
def _fresh_caches():
    clear_ocsp_caches()
    yield
    clear_ocsp_caches()


def test_responder_certificate_is_a_short_lived_delegated_ocsp_signer(pki, monkeypatch, tmp_path):
    responder = make_responder(pki.issuing, monkeypatch)
    certificate = responder.certificate.certificate
    assert responder.authority == pki.issuing
    assert responder.certificate.authority == pki.issuing
    assert responder.certificate.template.name == OCSP_TEMPLATE_NAME
    eku = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.OCSP_SIGNING]
    assert certificate.extensions.get_extension_for_class(x509.OCSPNoCheck).critical is False
    usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature
    assert not usage.key_encipherment
    assert not usage.content_commitment
    assert not usage.key_agreement
    assert certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
    # Seven days by default (plus the five minutes of backdating every certificate gets).
    lifetime = certificate.not_valid_after_utc - certificate.not_valid_before_utc
    assert dt.timedelta(days=7) <= lifetime <= dt.timedelta(days=7, minutes=6)
    assert (responder.not_before, responder.not_after) == (
        certificate.not_valid_before_utc,
        certificate.not_valid_after_utc,
    )
    assert certificate.subject.rfc4514_string() == "CN=Test Issuing CA OCSP Responder"
    # RSA CA -> RSA 2048 responder, its key encrypted with the OCSP passphrase (not the CA's, not the RA's).
    public = certificate.public_key()
    assert isinstance(public, rsa.RSAPublicKey)
    assert public.key_size == 2048
    assert responder.encrypted_key_pem.startswith("-----BEGIN ENCRYPTED PRIVATE KEY-----")
    passphrase = django_settings.CERTPORTAL_OCSP_KEY_PASSPHRASE.encode()
    key = load_responder_key(responder.encrypted_key_pem, passphrase)
    assert key.public_key() == certificate.public_key()
    for other in (django_settings.CERTPORTAL_CA_KEY_PASSPHRASE, django_settings.CERTPORTAL_RA_KEY_PASSPHRASE):
        with pytest.raises(ValueError, match=r"."):
            load_responder_key(responder.encrypted_key_pem, other.encode())
    # openssl agrees: OCSP signing purpose, and the nocheck extension.
    openssl_verify(tmp_path, certificate, pki.issuing.certificate, pki.root.certificate, purpose="ocsphelper")
    text = openssl_text(certificate, tmp_path)
    assert "OCSP Signing" in text
    assert "OCSP No Check" in text


def test_template_is_created_once_published_and_follows_the_validity_setting(pki, monkeypatch, settings):
    make_responder(pki.issuing, monkeypatch)
    template = pki.issuing.published_templates.get(name=OCSP_TEMPLATE_NAME)
    assert template.purpose == TemplatePurpose.SIGNATURE
    assert (template.digital_signature, template.key_encipherment, template.ocsp_no_check) == (
        True,
        False,
        True,
    )
    assert template.application_policies == ["1.3.6.1.5.5.7.3.9"]
    assert template.validity_days == 7
    settings.CERTPORTAL_OCSP_RESPONDER_VALIDITY_DAYS = 2
    responder = make_responder(pki.issuing, monkeypatch)
    template.refresh_from_db()
    assert template.validity_days == 2
    assert dt.timedelta(days=2) <= responder.lifetime <= dt.timedelta(days=2, minutes=6)
    assert pki.issuing.published_templates.filter(name=OCSP_TEMPLATE_NAME).count() == 1


def test_an_ec_ca_gets_an_ec_p256_responder(db, monkeypatch):
    root = authority_create(
        name="EC Root",
        slug="ec-root",
        subject=x509.Name.from_rfc4514_string("CN=EC Root"),
        key_spec=KeySpec("EC", 384),
        validity_days=30,
    )
    responder = make_responder(root, monkeypatch)
    public = responder.certificate.certificate.public_key()
    assert isinstance(public, ec.EllipticCurvePublicKey)
    assert isinstance(public.curve, ec.SECP256R1)
    usage = responder.certificate.certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature
    assert not usage.key_agreement


def test_without_the_ocsp_passphrase_nothing_is_requested(pki, monkeypatch, settings):
    settings.CERTPORTAL_OCSP_KEY_PASSPHRASE = ""
    dispatch_at_once(monkeypatch)
    with pytest.raises(OcspResponderUnavailable, match="CERTPORTAL_OCSP_KEY_PASSPHRASE"):
        ocsp_responder_create(authority=pki.issuing)
    assert not CertificateRequest.objects.exists()
    assert not OcspResponder.objects.exists()


def test_a_disabled_ca_issues_no_responder(pki, monkeypatch):
    pki.issuing.enabled = False
    pki.issuing.save()
    dispatch_at_once(monkeypatch)
    with pytest.raises(AuthorityUnavailable, match="disabled"):
        ocsp_responder_create(authority=pki.issuing)
    assert not OcspResponder.objects.exists()
    assert not IssuedCertificate.objects.exists()


def _signer_serial(pki) -> int:
    """The serial of the responder certificate that signs the issuing CA's answers now."""
    der = ocsp_request(pki.root.certificate, pki.root.certificate)  # any serial: only the signer matters
    answer = ocsp_request_answer(slug="test-root", request_der=der)
    response = ocsp.load_der_ocsp_response(answer.der)
    assert response.response_status == ocsp.OCSPResponseStatus.SUCCESSFUL
    return response.certificates[0].serial_number


def test_refresh_creates_missing_responders_and_renews_at_half_life(pki, monkeypatch, time_machine):
    dispatch_at_once(monkeypatch)
    start = dt.datetime.now(tz=dt.UTC)
    time_machine.move_to(start, tick=False)
    created = ocsp_responder_refresh().created
    assert {responder.authority for responder in created} == {pki.root, pki.issuing}
    first_root = ocsp_responder_get_current(authority=pki.root)
    assert first_root is not None
    assert _signer_serial(pki) == first_root.certificate.serial_int
    # Run again: nothing to do (idempotent), and still nothing just before half of the lifetime.
    assert ocsp_responder_refresh().created == []
    # (Half of 7 days and the 5 minutes of backdating is 3 days 11 h 57.5 min after ``start``.)
    time_machine.move_to(start + dt.timedelta(days=3, hours=11, minutes=55), tick=False)
    assert ocsp_responder_refresh().created == []
    # Past half of the lifetime: a new responder for each CA takes over; the old ones stay valid.
    time_machine.move_to(start + dt.timedelta(days=3, hours=12), tick=False)
    renewed = ocsp_responder_refresh().created
    assert {responder.authority for responder in renewed} == {pki.root, pki.issuing}
    current = ocsp_responder_get_current(authority=pki.root)
    assert current is not None
    assert current.pk != first_root.pk
    assert _signer_serial(pki) == current.certificate.serial_int
    first_root.certificate.refresh_from_db()
    assert first_root.certificate.revoked_at is None
    assert first_root.not_after > dt.datetime.now(tz=dt.UTC)
    assert OcspResponder.objects.count() == 4


def test_refresh_replaces_an_expired_or_revoked_responder_and_skips_disabled_cas(
    pki, monkeypatch, time_machine
):
    dispatch_at_once(monkeypatch)
    responder = make_responder(pki.issuing, monkeypatch)
    IssuedCertificate.objects.filter(pk=responder.certificate_id).update(
        revoked_at=dt.datetime.now(tz=dt.UTC), revocation_reason="key_compromise"
    )
    pki.root.enabled = False
    pki.root.save()
    created = ocsp_responder_refresh().created
    assert [r.authority for r in created] == [pki.issuing]
    assert ocsp_responder_get_current(authority=pki.issuing) == created[0]
    assert ocsp_responder_get_current(authority=pki.root) is None
    time_machine.move_to(created[0].not_after + dt.timedelta(seconds=1), tick=False)
    assert ocsp_responder_get_current(authority=pki.issuing) is None
    assert [r.authority for r in ocsp_responder_refresh().created] == [pki.issuing]


def test_refresh_reports_a_failing_ca_and_goes_on(pki, monkeypatch, settings):
    dispatch_at_once(monkeypatch)
    settings.CERTPORTAL_OCSP_KEY_PASSPHRASE = ""
    result = ocsp_responder_refresh()
    assert result.created == []
    assert set(result.failed) == {"test-root", "test-issuing"}
    assert "CERTPORTAL_OCSP_KEY_PASSPHRASE" in result.failed["test-issuing"]


def test_beat_runs_the_refresh_on_the_default_queue(pki, monkeypatch, settings):
    dispatch_at_once(monkeypatch)
    entry = settings.CELERY_BEAT_SCHEDULE["ocsp-responder-refresh"]
    assert entry["task"] == ocsp_responder_refresh_task.name == "ca.jobs.ocsp_responder_refresh_task"
    assert entry["schedule"] <= 3600  # far more often than half of a responder's lifetime
    route = celery_app.amqp.router.route({}, ocsp_responder_refresh_task.name, args=(), kwargs={})
    assert route["queue"].name == "default"
    ids = ocsp_responder_refresh_task.apply().get()
    assert sorted(ids) == sorted(OcspResponder.objects.values_list("pk", flat=True))
    assert len(ids) == 2
    assert ocsp_responder_refresh_task.apply().get() == []


def test_management_command_creates_and_renews(pki, monkeypatch, capsys):
    dispatch_at_once(monkeypatch)
    call_command("ocsp_responder", "--ca", "test-issuing")
    assert "OCSP responder for test-issuing" in capsys.readouterr().out
    call_command("ocsp_responder", "--ca", "test-issuing")
    assert "nothing to do" in capsys.readouterr().out
    call_command("ocsp_responder", "--ca", "test-issuing", "--renew")
    assert OcspResponder.objects.filter(authority=pki.issuing).count() == 2
    call_command("ocsp_responder")
    assert OcspResponder.objects.filter(authority=pki.root).count() == 1
    with pytest.raises(CommandError, match="no CA"):
        call_command("ocsp_responder", "--ca", "nope")
    with pytest.raises(CommandError, match="--renew needs --ca"):
        call_command("ocsp_responder", "--renew")


def test_authority_urls_and_new_cas_have_the_ocsp_url(pki):
    assert authority_urls("corp-issuing", base_url="https://pki.corp.example/") == {
        "crl_url": "https://pki.corp.example/crl/corp-issuing.crl",
        "issuer_url": "https://pki.corp.example/ca/corp-issuing.crt",
        "ocsp_url": "https://pki.corp.example/ocsp/corp-issuing",
    }
    assert pki.issuing.ocsp_url == "http://127.0.0.1:8000/ocsp/test-issuing"
    assert pki.root.ocsp_url == "http://127.0.0.1:8000/ocsp/test-root"


def test_a_newly_issued_certificate_carries_the_ocsp_url_in_its_aia(issued):
    aia = issued.certificate.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    assert [(d.access_method, d.access_location.value) for d in aia] == [
        (AuthorityInformationAccessOID.OCSP, "http://127.0.0.1:8000/ocsp/test-issuing"),
        (AuthorityInformationAccessOID.CA_ISSUERS, "http://127.0.0.1:8000/ca/test-issuing.crt"),
    ]


def test_data_migration_derives_the_ocsp_url_from_the_crl_url(pki):
    migration = importlib.import_module("ca.migrations.0004_authority_ocsp_url")
    CertificateAuthority.objects.filter(pk=pki.issuing.pk).update(
        ocsp_url="", crl_url="https://pki.corp.example/base/crl/test-issuing.crl"
    )
    CertificateAuthority.objects.filter(pk=pki.root.pk).update(
        ocsp_url="", crl_url="https://elsewhere/root.crl"
    )
    migration._set_ocsp_url(apps, None)
    pki.issuing.refresh_from_db()
    pki.root.refresh_from_db()
    assert pki.issuing.ocsp_url == "https://pki.corp.example/base/ocsp/test-issuing"
    assert pki.root.ocsp_url == ""  # a CRL URL of another shape: left alone
    migration._clear_ocsp_url(apps, None)
    pki.issuing.refresh_from_db()
    assert pki.issuing.ocsp_url == ""
