"""Fixtures of the notifications tests: the profiles fixtures (a device, SCEP profiles), certificates issued
by the test CA, a real webhook receiver, and the notification settings.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ca.models import IssuedCertificate
from notifications.tests.webhook import WebhookReceiver, webhook_receiver
from profiles.models import DeviceCertificate
from profiles.services.states import device_enrollment_succeeded
from profiles.tests.fixtures import (  # noqa: F401 - imported so that pytest registers them
    device,
    make_profile,
    root_profile,
    scep_profile,
    user,
)

ADMINS = ("pki-admins@corp.example.com", "oncall@corp.example.com")
SECRET = "a-webhook-secret-of-some-length"


@pytest.fixture
def emails(settings):
    """Notices by email to two administrators, as the environment gives them (comma-separated)."""
    settings.CERTPORTAL_NOTIFY_EMAILS = ", ".join(ADMINS)
    return ADMINS


@pytest.fixture
def webhook(settings) -> Iterator[WebhookReceiver]:
    with webhook_receiver() as receiver:
        settings.CERTPORTAL_NOTIFY_WEBHOOK_URL = receiver.url
        settings.CERTPORTAL_NOTIFY_WEBHOOK_SECRET = SECRET
        yield receiver


@pytest.fixture
def certificate(pki, issue):
    """``certificate(common_name, days)``: a certificate of the test CA valid for ``days`` days."""

    def _issue(common_name: str, days: int = 365) -> IssuedCertificate:
        pki.template.validity_days = days
        pki.template.save()
        return IssuedCertificate.objects.get(request=issue(common_name=common_name))

    return _issue


@pytest.fixture
def soon(certificate):
    """A certificate that expires in 20 days, issued before the test runs.

    (Tests that read the log issue in a fixture: the first CA task a process runs makes Celery's Django
    fix-up call django.setup() again, which re-applies LOGGING and drops pytest's log capture of the phase.)
    """
    return certificate("soon", days=20)


@pytest.fixture
def bind(device, scep_profile):  # noqa: F811 - the fixtures imported above
    """``bind(certificate)``: the certificate bound to the device as after its SCEP enrollment."""

    def _bind(certificate: IssuedCertificate, *, to=None, profile=None) -> DeviceCertificate:
        device_enrollment_succeeded(
            device=to or device, profile=profile or scep_profile, certificate=certificate
        )
        return DeviceCertificate.objects.get(certificate=certificate)

    return _bind
