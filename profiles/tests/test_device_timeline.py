"""A device's timeline: check-ins (30001) and challenges handed out (30002) are recorded on it, with the
SCEP requests and revocations about the device; /api/v1/devices/{id}/timeline/ serves it newest first.
"""

from __future__ import annotations

import pytest

from rest_framework.test import APIClient

from directory.models import Device, Platform
from directory.tests.factories import DeviceFactory
from enrollment import scep
from eventlog.choices import EventId, EventLevel
from eventlog.models import ConnectorEvent
from profiles.services.checkin import device_checkin
from profiles.tests.fixtures import assign, build_csr, delivery_for, scep_enroll


@pytest.fixture
def api(admin_user) -> APIClient:
    client = APIClient()
    client.force_authenticate(admin_user)
    return client


def events_of(device: Device, event_id: EventId) -> list[ConnectorEvent]:
    return list(ConnectorEvent.objects.filter(device_id=device.pk, event_id=event_id).order_by("id"))


def test_a_checkin_is_recorded_with_what_the_device_received(assigned, root_profile, device, user):
    device_checkin(device=device)

    (checkin,) = events_of(device, EventId.DEVICE_CHECK_IN)
    assert (checkin.level, checkin.device_external_id) == (EventLevel.INFORMATION, device.external_id)
    assert (checkin.user_id, checkin.user_principal_name) == (user.pk, user.user_principal_name)
    assert checkin.details == {
        "trusted_root_profiles": [root_profile.name],
        "scep_profiles": [assigned.name],
        "not_delivered": {},
    }
    assert checkin.message == f"device {device.external_id} checked in: 1 trusted root(s), 1 SCEP profile(s)"


def test_a_new_challenge_is_recorded_once_and_never_its_secret(assigned, device, user):
    first = delivery_for(device, assigned)
    again = delivery_for(device, assigned)  # the live challenge handed out again: no new one

    assert again.challenge == first.challenge
    assert len(events_of(device, EventId.DEVICE_CHECK_IN)) == 2
    (issued,) = events_of(device, EventId.CHALLENGE_ISSUED)
    challenge_id, secret = first.challenge.split(".")[1:]
    assert issued.details["challenge_id"].replace("-", "") == challenge_id
    assert (issued.details["profile"], issued.details["profile_version"]) == (assigned.name, 1)
    assert issued.template_name == assigned.template.name
    assert (issued.user_id, issued.device_id) == (user.pk, device.pk)
    assert first.challenge_expires_at is not None
    assert issued.details["expires_at"] == first.challenge_expires_at.isoformat()
    stored = " ".join(str(value) for value in vars(issued).values())
    assert secret not in stored


def test_a_checkin_that_cannot_deliver_a_profile_is_a_warning_with_the_reason(
    make_profile, root_profile, user_group, device
):
    profile = make_profile(subject_name_format_string="CN={{IMEI}}")
    assign(profile, user_group)
    assign(root_profile, user_group)
    device.imei = ""
    device.save()

    device_checkin(device=device)

    (checkin,) = events_of(device, EventId.DEVICE_CHECK_IN)
    assert checkin.level == EventLevel.WARNING
    problem = "device has no IMEI, required by {{IMEI}} in the subject"
    assert checkin.details["not_delivered"] == {profile.name: problem}
    assert checkin.message.endswith(f"1 not delivered: {profile.name}: {problem}")
    assert not events_of(device, EventId.CHALLENGE_ISSUED)


def test_a_preview_is_not_a_checkin(assigned, device):
    device_checkin(device=device, issue_challenges=False)

    assert not ConnectorEvent.objects.exists()


@pytest.mark.django_db(transaction=True)  # the SCEP request and the revocation go to the CA on commit
def test_the_timeline_has_the_devices_whole_story_newest_first(
    api, client, pki, scep_service, assigned, device, user, rsa2048_key
):
    delivery = delivery_for(device, assigned)
    assert delivery.rendered is not None
    csr = build_csr(
        rsa2048_key, delivery.rendered.subject, delivery.rendered.sans, challenge=delivery.challenge
    )
    reply = scep_enroll(client, scep_service, rsa2048_key, csr).reply
    assert reply.status is scep.PkiStatus.SUCCESS, reply.fail_info_text
    assert api.post(f"/api/v1/devices/{device.pk}/retire/").status_code == 202
    other = DeviceFactory.create(name="iPhone-2", platform=Platform.IOS, primary_user=user)
    device_checkin(device=other)

    response = api.get(f"/api/v1/devices/{device.pk}/timeline/")

    assert response.status_code == 200, response.content
    body = response.json()
    assert [event["event_id"] for event in body["results"]] == [
        EventId.REVOKE_CERT_SUCCESS,  # retired: the CA worker revoked its certificate
        EventId.CRP_NOTIFY_SUCCESS,  # the certificate reached the device
        EventId.CRP_VERIFY_SUCCESS,  # its challenge was accepted
        EventId.DEVICE_CHECK_IN,  # what the check-in delivered, recorded as it ends
        EventId.CHALLENGE_ISSUED,  # ... including this challenge
    ]
    assert body["count"] == 5
    assert {event["device_external_id"] for event in body["results"]} == {device.external_id}
    serial = body["results"][1]["serial"]
    assert serial
    assert body["results"][0]["serial"] == serial
    assert body["results"][0]["event_name"] == "RevokeCert_Success"


def test_the_timeline_needs_the_right_to_read_the_event_log(device, django_user_model):
    reader = django_user_model.objects.create_user("device-reader")
    client = APIClient()
    client.force_authenticate(reader)

    assert client.get(f"/api/v1/devices/{device.pk}/timeline/").status_code == 403
    assert client.get("/api/v1/devices/999999/timeline/").status_code in (403, 404)
