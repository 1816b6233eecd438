"""Expiry notices by email: one batched message per run with the certificates entering the window, each
certificate once per window; a failed send is logged, not recorded, and sent at the next run.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.core import mail
from django.utils import timezone

from ca.choices import RevocationReason
from ca.models import IssuedCertificate
from notifications import services
from notifications.choices import NoticeChannel, NoticeKind
from notifications.models import SentNotice
from notifications.services import NotifyResult, certificate_expiry_notify
from notifications.tests.conftest import ADMINS
from notifications.tests.webhook import closed_port
from profiles.choices import DeviceCertificateStatus, RevokeStatus
from profiles.models import DeviceCertificate


def _serials(message: mail.EmailMessage) -> set[str]:
    return {word for word in message.body.split() if len(word) > 30 and word.isalnum()}


def test_one_email_lists_the_certificates_entering_the_window(
    emails, certificate, bind, device, scep_profile
):
    soon = certificate("soon", days=20)
    sooner = certificate("sooner", days=10)
    later = certificate("later", days=365)
    bind(soon)

    result = certificate_expiry_notify()

    assert result == NotifyResult(delivered={"email": 2})
    (message,) = mail.outbox
    assert message.to == list(ADMINS)
    assert message.subject == "certportal: 2 certificates expire within 30 days"
    assert _serials(message) == {soon.serial, sooner.serial}
    assert later.serial not in message.body
    lines = message.body.splitlines()
    assert "CN=sooner " in lines[2]  # the soonest first
    assert "CN=soon " in lines[3]
    assert f"device {device.name} ({device.external_id}), profile {scep_profile.name}" in message.body
    assert f"CA test-issuing, template {soon.template.name}" in message.body
    notices = SentNotice.objects.all()
    assert {(n.channel, n.kind, n.certificate_id, n.window_days) for n in notices} == {
        (NoticeChannel.EMAIL, NoticeKind.CERTIFICATE_EXPIRING, soon.pk, 30),
        (NoticeChannel.EMAIL, NoticeKind.CERTIFICATE_EXPIRING, sooner.pk, 30),
    }
    assert {str(n.delivery_id) for n in notices} == {message.extra_headers["X-Certportal-Delivery"]}


def test_a_second_run_within_the_window_sends_nothing(emails, certificate, time_machine):
    certificate("soon", days=20)
    certificate_expiry_notify()
    time_machine.move_to(timezone.now() + dt.timedelta(days=1), tick=False)

    assert certificate_expiry_notify() == NotifyResult(delivered={"email": 0})
    assert len(mail.outbox) == 1
    assert SentNotice.objects.count() == 1


def test_a_certificate_is_announced_when_it_enters_the_window(emails, certificate, time_machine):
    later = certificate("later", days=100)
    assert certificate_expiry_notify() == NotifyResult(delivered={"email": 0})
    assert mail.outbox == []

    time_machine.move_to(later.not_after - dt.timedelta(days=30), tick=False)
    assert certificate_expiry_notify() == NotifyResult(delivered={"email": 1})
    assert _serials(mail.outbox[0]) == {later.serial}
    assert mail.outbox[0].subject == "certportal: 1 certificate expires within 30 days"


def test_the_window_is_a_setting_and_a_wider_window_is_a_new_notice(emails, certificate, settings):
    soon = certificate("soon", days=20)
    mid = certificate("mid", days=50)
    certificate_expiry_notify()
    settings.CERTPORTAL_NOTIFY_EXPIRY_WINDOW_DAYS = 60

    assert certificate_expiry_notify() == NotifyResult(delivered={"email": 2})
    assert mail.outbox[1].subject == "certportal: 2 certificates expire within 60 days"
    assert _serials(mail.outbox[1]) == {soon.serial, mid.serial}


def test_what_nobody_has_to_act_on_is_left_out(emails, certificate, bind, device, make_profile):
    superseded = certificate("superseded", days=20)
    bind(superseded, profile=make_profile(name="renewed", revoke_superseded=False))
    DeviceCertificate.objects.filter(certificate=superseded).update(status=DeviceCertificateStatus.SUPERSEDED)
    being_revoked = certificate("being-revoked", days=20)
    bind(being_revoked, profile=make_profile(name="retired"))
    DeviceCertificate.objects.filter(certificate=being_revoked).update(revoke_status=RevokeStatus.PENDING)
    revoked = certificate("revoked", days=20)
    IssuedCertificate.objects.filter(pk=revoked.pk).update(
        revoked_at=timezone.now(), revocation_reason=RevocationReason.KEY_COMPROMISE
    )
    kept = certificate("kept", days=20)

    certificate_expiry_notify()

    (message,) = mail.outbox
    assert _serials(message) == {kept.serial}


def test_no_recipients_and_no_webhook_send_nothing(certificate):
    certificate("soon", days=20)
    assert certificate_expiry_notify() == NotifyResult()
    assert mail.outbox == []
    assert not SentNotice.objects.exists()


def test_an_smtp_failure_is_logged_not_recorded_and_retried(emails, soon, settings, caplog):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", closed_port()

    with caplog.at_level(logging.WARNING, logger="notifications.services"):
        result = certificate_expiry_notify()

    assert result.delivered == {"email": 0}
    assert "email to 2 recipient(s) failed" in result.failed["email"]
    assert "certificate_expiring notice by email not sent (1 item(s); retried at the next run)" in caplog.text
    assert not SentNotice.objects.exists()

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert certificate_expiry_notify() == NotifyResult(delivered={"email": 1})
    assert _serials(mail.outbox[0]) == {soon.serial}


def test_more_than_a_message_holds_go_out_in_several_messages(emails, certificate, monkeypatch):
    monkeypatch.setattr(services, "MESSAGE_LIMIT", 2)
    made = [certificate(f"cert-{n}", days=10 + n) for n in range(3)]

    assert certificate_expiry_notify() == NotifyResult(delivered={"email": 3})

    assert [_serials(message) for message in mail.outbox] == [
        {made[0].serial, made[1].serial},
        {made[2].serial},
    ]
    assert SentNotice.objects.values("delivery_id").distinct().count() == 2


def test_records_of_long_expired_certificates_are_pruned(emails, certificate, time_machine):
    soon = certificate("soon", days=20)
    certificate_expiry_notify()
    time_machine.move_to(soon.not_after + dt.timedelta(days=89), tick=False)
    certificate_expiry_notify()
    assert SentNotice.objects.filter(certificate=soon).exists()

    time_machine.move_to(soon.not_after + dt.timedelta(days=91), tick=False)
    certificate_expiry_notify()
    assert not SentNotice.objects.filter(certificate=soon).exists()
    assert len(mail.outbox) == 1
