"""Enrollment-failure notices: device states that became failed, once per change, batched, by email and
webhook.
"""

from __future__ import annotations

import datetime as dt
import json

from django.core import mail
from django.utils import timezone

from directory.tests.factories import DeviceFactory
from notifications.choices import NoticeChannel, NoticeKind
from notifications.models import SentNotice
from notifications.services import NotifyResult, enrollment_failure_notify
from profiles.choices import CertificateState
from profiles.models import DeviceCertificateState
from profiles.services.states import device_enrollment_failed, device_state_set


def test_one_email_lists_the_failed_enrollments(emails, device, scep_profile, make_profile):
    other_device = DeviceFactory.create(name="PC-0042", external_id="pc-42")
    device_state_set(
        device=device,
        profile=scep_profile,
        state=CertificateState.FAILED,
        reason="the challenge has expired",
        diagnostic_code=0x411,
    )
    device_enrollment_failed(
        device=other_device, profile=scep_profile, reason="denied by a certificate manager"
    )
    device_state_set(device=device, profile=make_profile(name="fine"), state=CertificateState.ISSUED)

    assert enrollment_failure_notify() == NotifyResult(delivered={"email": 2})

    (message,) = mail.outbox
    assert message.subject == "certportal: 2 enrollments failed"
    assert (
        f"{device.name} ({device.external_id}, ios)  profile {scep_profile.name}: the challenge has expired "
        "(0x00000411)"
    ) in message.body
    assert "PC-0042 (pc-42, windows_10)  profile iOS user certificate: denied by a certificate manager" in (
        message.body
    )
    assert "fine" not in message.body
    states = DeviceCertificateState.objects.filter(state=CertificateState.FAILED)
    assert {(n.channel, n.kind, n.device_state_id, n.failed_at) for n in SentNotice.objects.all()} == {
        (NoticeChannel.EMAIL, NoticeKind.ENROLLMENT_FAILED, state.pk, state.state_changed_at)
        for state in states
    }

    assert enrollment_failure_notify() == NotifyResult(delivered={"email": 0})
    assert len(mail.outbox) == 1


def test_a_new_failure_of_the_same_device_is_a_new_notice(emails, device, scep_profile, time_machine):
    device_enrollment_failed(device=device, profile=scep_profile, reason="the challenge has expired")
    enrollment_failure_notify()
    device_enrollment_failed(device=device, profile=scep_profile, reason="the challenge has expired")
    assert enrollment_failure_notify() == NotifyResult(delivered={"email": 0})  # the same failure

    time_machine.move_to(timezone.now() + dt.timedelta(hours=2), tick=False)
    device_state_set(device=device, profile=scep_profile, state=CertificateState.CHALLENGE_ISSUED)
    device_enrollment_failed(device=device, profile=scep_profile, reason="the challenge has expired")

    assert enrollment_failure_notify() == NotifyResult(delivered={"email": 1})
    assert len(mail.outbox) == 2
    assert SentNotice.objects.count() == 2


def test_a_device_that_recovered_before_the_run_is_not_announced(emails, device, scep_profile):
    device_enrollment_failed(device=device, profile=scep_profile, reason="no IMEI")
    device_state_set(device=device, profile=scep_profile, state=CertificateState.CHALLENGE_ISSUED)
    assert enrollment_failure_notify() == NotifyResult(delivered={"email": 0})
    assert mail.outbox == []


def test_the_webhook_gets_the_failures(webhook, device, scep_profile):
    device_state_set(
        device=device,
        profile=scep_profile,
        state=CertificateState.FAILED,
        reason="no IMEI",
        diagnostic_code=7,
    )
    state = DeviceCertificateState.objects.get()

    assert enrollment_failure_notify() == NotifyResult(delivered={"webhook": 1})

    (received,) = webhook.received
    assert received.headers["X-Certportal-Event"] == "enrollment_failed"
    body = json.loads(received.body)
    assert body["event"] == "enrollment_failed"
    assert body["failures"] == [
        {
            "device_state_id": state.pk,
            "device": device.external_id,
            "device_name": device.name,
            "platform": "ios",
            "profile": scep_profile.name,
            "reason": "no IMEI",
            "diagnostic_code": 7,
            "failed_at": state.state_changed_at.isoformat(),
        }
    ]


def test_records_of_failures_that_were_followed_by_a_change_are_pruned(
    emails, device, scep_profile, time_machine
):
    device_enrollment_failed(device=device, profile=scep_profile, reason="no IMEI")
    enrollment_failure_notify()
    time_machine.move_to(timezone.now() + dt.timedelta(days=91), tick=False)
    enrollment_failure_notify()
    assert SentNotice.objects.count() == 1  # still the device's current failure: kept

    device_state_set(device=device, profile=scep_profile, state=CertificateState.CHALLENGE_ISSUED)
    enrollment_failure_notify()
    assert not SentNotice.objects.exists()
    assert len(mail.outbox) == 1
