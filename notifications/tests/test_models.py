"""SentNotice: the constraints that make a notice go out once; the read-only admin; the system checks."""

from __future__ import annotations

import uuid

import pytest

from django.db import IntegrityError, transaction
from django.utils import timezone

from notifications.checks import notifications_settings_valid
from notifications.choices import NoticeChannel, NoticeKind
from notifications.models import SentNotice
from profiles.choices import CertificateState
from profiles.services.states import device_state_set


def _notice(**fields) -> SentNotice:
    return SentNotice(delivery_id=uuid.uuid4(), sent_at=timezone.now(), **fields)


def _expiry(certificate, channel=NoticeChannel.EMAIL, window_days=30) -> SentNotice:
    return _notice(
        channel=channel,
        kind=NoticeKind.CERTIFICATE_EXPIRING,
        certificate=certificate,
        window_days=window_days,
    )


def test_a_certificate_is_recorded_once_per_channel_and_window(soon):
    _expiry(soon).save()
    _expiry(soon, channel=NoticeChannel.WEBHOOK).save()
    _expiry(soon, window_days=60).save()
    with pytest.raises(IntegrityError), transaction.atomic():
        _expiry(soon).save()
    assert SentNotice.objects.count() == 3


def test_a_failure_is_recorded_once_per_channel_and_change(device, scep_profile):
    state = device_state_set(device=device, profile=scep_profile, state=CertificateState.FAILED, reason="x")

    def failure() -> SentNotice:
        return _notice(
            channel=NoticeChannel.EMAIL,
            kind=NoticeKind.ENROLLMENT_FAILED,
            device_state=state,
            failed_at=state.state_changed_at,
        )

    failure().save()
    with pytest.raises(IntegrityError), transaction.atomic():
        failure().save()


@pytest.mark.parametrize(
    "fields",
    [
        {"kind": NoticeKind.CERTIFICATE_EXPIRING},  # no certificate
        {"kind": NoticeKind.ENROLLMENT_FAILED},  # no device state
        {"kind": NoticeKind.ENROLLMENT_FAILED, "window_days": 30},
    ],
)
def test_a_notice_names_the_subject_of_its_kind(soon, fields):
    if fields["kind"] == NoticeKind.ENROLLMENT_FAILED and "window_days" in fields:
        fields = {**fields, "certificate": soon}
    with pytest.raises(IntegrityError), transaction.atomic():
        _notice(channel=NoticeChannel.EMAIL, **fields).save()


def test_the_admin_lists_notices_and_adds_none(admin_client, soon):
    notice = _expiry(soon)
    notice.save()
    response = admin_client.get("/admin/notifications/sentnotice/")
    assert response.status_code == 200
    assert str(soon) in response.content.decode()
    assert admin_client.get("/admin/notifications/sentnotice/add/").status_code == 403
    detail = admin_client.get(f"/admin/notifications/sentnotice/{notice.pk}/change/")
    assert detail.status_code == 200
    assert b'name="_save"' not in detail.content  # read only
    assert str(notice) == f"Certificate expiring by Email: certificate {soon.pk} (30 days)"


def test_a_check_warns_when_the_notices_would_go_to_the_console(settings):
    settings.CERTPORTAL_NOTIFY_EMAILS = "pki@corp.example.com"
    settings.EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
    (warning,) = notifications_settings_valid(None)
    assert warning.id == "notifications.W001"
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    assert notifications_settings_valid(None) == []
    settings.CERTPORTAL_NOTIFY_EMAILS = "not an address"
    (error,) = notifications_settings_valid(None)
    assert error.id == "notifications.E001"
    assert "CERTPORTAL_NOTIFY_EMAILS" in error.msg
