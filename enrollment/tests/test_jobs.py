"""The RA renewal job (beat, default queue): an RA certificate near its end gets a new key pair and
certificate from the CA worker, the SCEP services switch to it and GetCACert serves it; recorded as the
connector records its enrollment certificate (10100 / 10102, 10301 / 10302)."""

from __future__ import annotations

import datetime as dt

import pytest

from django.conf import settings as django_settings

from ca.models import CertificateAuthority, CertificateRequest, IssuedCertificate
from ca.services import submission
from enrollment import scep
from enrollment.jobs import registration_authority_renew_task
from enrollment.models import RegistrationAuthority, ScepService
from enrollment.services.registration import registration_authority_create, scep_service_create
from enrollment.tests.fixtures import STATIC_CHALLENGE, Device, ScepTester, name
from eventlog.choices import DiagnosticCode, EventId, EventLevel
from eventlog.models import ConnectorEvent


@pytest.fixture
def ca_signs_at_once(monkeypatch):
    """The CA task runs when the request is submitted, as the CA worker does right after the commit (the
    test's transaction never commits)."""
    monkeypatch.setattr(submission, "_dispatch_on_commit", submission.certificate_request_dispatch)


@pytest.fixture
def services(pki, ca_signs_at_once) -> tuple[ScepService, ScepService]:
    """Two services sharing one RA made by the real service (its certificate is one the CA issued)."""
    ra = registration_authority_create(authority=pki.issuing, name="Renewed RA", subject=name("Renewed RA"))
    common = {
        "authority": pki.issuing,
        "registration_authority": ra,
        "general_purpose_template": pki.template,
    }
    first = scep_service_create(slug="first", name="First", static_challenge=STATIC_CHALLENGE, **common)
    second = scep_service_create(slug="second", name="Second", **common)
    ConnectorEvent.objects.all().delete()  # what the set-up recorded (its upload and download)
    return first, second


def _left(ra: RegistrationAuthority, share: float) -> dt.datetime:
    """The moment when ``share`` of the RA certificate's lifetime is left."""
    certificate = ra.certificate
    lifetime = certificate.not_valid_after_utc - certificate.not_valid_before_utc
    return certificate.not_valid_after_utc - lifetime * share


def _renewal_events() -> list[ConnectorEvent]:
    ids = {10100, 10102, 10301, 10302}
    return list(ConnectorEvent.objects.filter(event_id__in=ids).order_by("id"))


def test_the_job_is_on_the_beat_schedule_and_the_default_queue():
    entry = django_settings.CELERY_BEAT_SCHEDULE["registration-authority-renewal"]
    assert entry["task"] == registration_authority_renew_task.name
    route = registration_authority_renew_task.app.amqp.router.route({}, entry["task"], args=(), kwargs={})
    assert route["queue"].name == "default"


def test_an_ra_past_the_threshold_is_renewed_and_get_ca_cert_serves_the_new_one(
    client, services, time_machine
):
    first, _ = services
    old = first.registration_authority
    time_machine.move_to(_left(old, 0.15), tick=False)  # the default threshold: 20 % left

    renewed = registration_authority_renew_task.delay().get()

    new = RegistrationAuthority.objects.get(pk__in=renewed)
    assert new.pk != old.pk
    assert set(ScepService.objects.values_list("registration_authority", flat=True)) == {new.pk}
    assert (new.authority, new.name, new.certificate.subject) == (
        old.authority,
        old.name,
        old.certificate.subject,
    )
    assert new.certificate.public_key() != old.certificate.public_key()
    assert new.certificate.not_valid_after_utc > old.certificate.not_valid_after_utc
    request = CertificateRequest.objects.get(
        requester="ra:Renewed RA", certificate__fingerprint_sha256=new.fingerprint_sha256
    )
    assert request.template.name == "SCEPRegistrationAuthority"  # through the ordinary request queue

    certificates, _ = scep.parse_degenerate(client.get("/scep/first", {"operation": "GetCACert"}).content)
    assert certificates[0] == new.certificate

    (event,) = _renewal_events()
    assert (event.event_id, event.level, event.diagnostic) == (
        EventId.CERTIFICATE_RENEWAL_SUCCESS,
        EventLevel.INFORMATION,
        "0x00000000 Success",
    )
    issued = IssuedCertificate.objects.get(fingerprint_sha256=new.fingerprint_sha256)
    assert (event.serial, event.thumbprint, event.authority_slug) == (
        issued.serial,
        new.fingerprint_sha1,
        old.authority.slug,
    )
    assert event.details["previous_thumbprint"] == old.fingerprint_sha1
    assert event.details["services"] == ["first", "second"]
    assert registration_authority_renew_task.delay().get() == []  # nothing is due any more


def test_a_device_enrolls_through_the_renewed_ra(client, services, time_machine, device_keys):
    first, _ = services
    time_machine.move_to(_left(first.registration_authority, 0.1), tick=False)
    registration_authority_renew_task.delay().get()
    first.refresh_from_db()
    tester = ScepTester(client, first, (first.registration_authority.certificate,))

    result = tester.enroll(Device.create(device_keys[0]))

    assert result.status is scep.PkiStatus.SUCCESS, result.fail_info_text


def test_an_ra_with_enough_life_left_is_left_alone(services, time_machine):
    time_machine.move_to(_left(services[0].registration_authority, 0.5), tick=False)
    assert registration_authority_renew_task.delay().get() == []
    assert _renewal_events() == []


def test_the_threshold_is_a_setting(services, settings, time_machine):
    settings.CERTPORTAL_RA_RENEWAL_THRESHOLD = 0.6
    time_machine.move_to(_left(services[0].registration_authority, 0.5), tick=False)
    assert len(registration_authority_renew_task.delay().get()) == 1


def test_the_ra_of_disabled_services_is_left_alone(services, time_machine):
    ScepService.objects.update(enabled=False)
    time_machine.move_to(_left(services[0].registration_authority, 0.1), tick=False)
    assert registration_authority_renew_task.delay().get() == []


def test_a_renewal_that_fails_is_10102_and_the_services_keep_their_ra(services, settings, time_machine):
    old = services[0].registration_authority
    time_machine.move_to(_left(old, 0.1), tick=False)
    settings.CERTPORTAL_RA_KEY_PASSPHRASE = ""  # a default worker started without it

    assert registration_authority_renew_task.delay().get() == []

    (event,) = _renewal_events()
    assert (event.event_id, event.level, event.diagnostic) == (
        EventId.CERTIFICATE_RENEWAL_FAILURE,
        EventLevel.ERROR,
        "0x0FFFFFFF Unknown_Error",
    )
    assert "no RA key passphrase" in event.message
    assert event.details["error"] == "RaUnavailable"
    assert set(ScepService.objects.values_list("registration_authority", flat=True)) == {old.pk}
    assert RegistrationAuthority.objects.count() == 1


def test_an_expired_ra_is_10302_with_0x405_then_renewed(services, time_machine):
    old = services[0].registration_authority
    time_machine.move_to(old.not_after + dt.timedelta(days=1), tick=False)

    assert len(registration_authority_renew_task.delay().get()) == 1

    expired, renewed = _renewal_events()
    assert (expired.event_id, expired.level, expired.diagnostic) == (
        EventId.RETRIEVE_CERTIFICATE_ERROR,
        EventLevel.ERROR,
        "0x00000405 Certificate_Expired",
    )
    assert expired.thumbprint == old.fingerprint_sha1
    assert renewed.event_id == EventId.CERTIFICATE_RENEWAL_SUCCESS


def test_an_expired_ra_that_cannot_be_renewed_is_10102_with_0x405(services, pki, time_machine):
    old = services[0].registration_authority
    CertificateAuthority.objects.filter(pk=pki.issuing.pk).update(enabled=False)
    time_machine.move_to(old.not_after + dt.timedelta(days=1), tick=False)

    assert registration_authority_renew_task.delay().get() == []

    expired, failed = _renewal_events()
    assert expired.diagnostic_code == DiagnosticCode.CERTIFICATE_EXPIRED
    assert (failed.event_id, failed.diagnostic) == (
        EventId.CERTIFICATE_RENEWAL_FAILURE,
        "0x00000405 Certificate_Expired",
    )
    assert "is disabled" in failed.message


def test_an_unreadable_ra_certificate_is_10302_with_0x404_and_not_renewed(services):
    RegistrationAuthority.objects.update(certificate_pem="not a certificate")

    assert registration_authority_renew_task.delay().get() == []

    (event,) = _renewal_events()
    assert (event.event_id, event.diagnostic) == (
        EventId.RETRIEVE_CERTIFICATE_ERROR,
        "0x00000404 Certificate_NotFound",
    )
    assert event.message.startswith("the RA certificate of first, second cannot be read")


def test_an_ra_certificate_its_ca_does_not_know_is_10301_with_0x403(services):
    ra = services[0].registration_authority
    IssuedCertificate.objects.filter(fingerprint_sha256=ra.fingerprint_sha256).update(
        fingerprint_sha256="0" * 64
    )

    assert registration_authority_renew_task.delay().get() == []  # not due: only the warning

    (event,) = _renewal_events()
    assert (event.event_id, event.level, event.diagnostic) == (
        EventId.RETRIEVE_CERTIFICATE_WARNING,
        EventLevel.WARNING,
        "0x00000403 CertThumbprint_NotFound",
    )
    assert event.thumbprint == ra.fingerprint_sha1


def test_a_single_service_is_linked(services, time_machine):
    first, second = services
    second.delete()
    time_machine.move_to(_left(first.registration_authority, 0.1), tick=False)
    registration_authority_renew_task.delay().get()
    assert ConnectorEvent.objects.get(event_id=EventId.CERTIFICATE_RENEWAL_SUCCESS).service_slug == "first"
