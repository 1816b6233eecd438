"""/api/v1/devices/{id}/retire/, wipe/, payload/: revocation on leaving management, payloads for a device."""

from __future__ import annotations

import plistlib
import xml.etree.ElementTree as ET
from dataclasses import dataclass

import pytest

from cryptography import x509

from rest_framework.test import APIClient

from ca.models import IssuedCertificate, RevocationRequest
from ca.selectors import crl_get_latest
from directory.models import Device, DeviceState
from directory.services.checkin_tokens import device_checkin_token_rotate
from profiles.choices import CertificateState
from profiles.models import DeviceCertificate, DeviceCertificateState, DeviceChallenge, ScepProfile
from profiles.services.states import device_state_set

URL = "/api/v1/devices/"


@pytest.fixture
def api(admin_user) -> APIClient:
    client = APIClient()
    client.force_authenticate(admin_user)
    return client


@dataclass(frozen=True)
class Holding:
    profile: ScepProfile
    certificates: list[IssuedCertificate]
    #: A certificate of the same CA that is not the device's.
    unrelated: IssuedCertificate


@pytest.fixture
def holding(assigned, device, issue) -> Holding:
    """The device holds two certificates of the profile (the current one and an earlier one)."""
    certificates = [IssuedCertificate.objects.get(request=issue(common_name=f"jdoe-{n}")) for n in (1, 2)]
    for certificate in certificates:
        DeviceCertificate.objects.create(device=device, profile=assigned, certificate=certificate)
    device_state_set(
        device=device, profile=assigned, state=CertificateState.ISSUED, certificate=certificates[-1]
    )
    unrelated = IssuedCertificate.objects.get(request=issue(common_name="someone-else"))
    return Holding(profile=assigned, certificates=certificates, unrelated=unrelated)


@pytest.mark.django_db(transaction=True)  # the revocation request is sent to the CA when it commits
@pytest.mark.parametrize("action", ["retire", "wipe"])
def test_retire_and_wipe_revoke_the_devices_certificates(api, pki, device, holding, action):
    state = {"retire": DeviceState.RETIRED, "wipe": DeviceState.WIPED}[action]
    token = device_checkin_token_rotate(device=device)

    response = api.post(f"{URL}{device.pk}/{action}/")

    assert response.status_code == 202, response.content
    request = RevocationRequest.objects.get()
    assert response.json() == {
        "device": device.external_id,
        "state": state.value,
        "revocation_requests": [request.pk],
        "certificates_to_revoke": 2,
    }
    assert (request.status, request.cause, request.reason) == (
        "done",
        f"device_{state.value}",
        "cessation_of_operation",
    )
    device.refresh_from_db()
    assert (device.state, device.checkin_token_digest) == (state, "")
    latest = crl_get_latest(authority=pki.issuing)
    assert latest is not None
    crl = x509.load_der_x509_crl(bytes(latest.der))
    for certificate in holding.certificates:
        certificate.refresh_from_db()
        assert (certificate.revoked_at is not None, certificate.revocation_reason) == (
            True,
            "cessation_of_operation",
        )
        entry = crl.get_revoked_certificate_by_serial_number(certificate.serial_int)
        assert entry is not None
        assert entry.extensions.get_extension_for_class(x509.CRLReason).value.reason is (
            x509.ReasonFlags.cessation_of_operation
        )
    holding.unrelated.refresh_from_db()
    assert holding.unrelated.revoked_at is None
    assert crl.get_revoked_certificate_by_serial_number(holding.unrelated.serial_int) is None
    record = DeviceCertificateState.objects.get(device=device, profile=holding.profile)
    assert (record.state, record.reason) == (
        CertificateState.REVOKED,
        f"revoked: device {state.label.lower()} (cessation of operation)",
    )
    checkin = APIClient().get("/api/v1/checkin/", HTTP_AUTHORIZATION=f"Device {device.external_id}:{token}")
    assert checkin.status_code == 401


@pytest.mark.django_db(transaction=True)
def test_retiring_twice_revokes_nothing_more(api, device, holding):
    api.post(f"{URL}{device.pk}/retire/")

    response = api.post(f"{URL}{device.pk}/retire/")

    assert response.status_code == 202
    assert (response.json()["revocation_requests"], response.json()["certificates_to_revoke"]) == ([], 0)
    assert RevocationRequest.objects.count() == 1
    assert all(
        c.revoked_at is not None for c in IssuedCertificate.objects.filter(device_binding__device=device)
    )


def test_a_retired_device_gets_no_payload(api, assigned, device):
    Device.objects.filter(pk=device.pk).update(state=DeviceState.RETIRED)

    response = api.post(f"{URL}{device.pk}/payload/")

    assert response.status_code == 200
    assert (response.json()["trusted_roots"], response.json()["scep"]) == ([], [])


def test_payload_json(api, assigned, device):
    response = api.post(f"{URL}{device.pk}/payload/", QUERY_STRING="kind=json")

    assert response.status_code == 200
    (scep,) = response.json()["scep"]
    assert scep["state"] == "challenge_issued"
    assert scep["challenge"].startswith(f"cp1.{DeviceChallenge.objects.get().id.hex}.")


def test_payload_mobileconfig(api, assigned, device, pki):
    response = api.post(f"{URL}{device.pk}/payload/?kind=mobileconfig")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/x-apple-aspen-config"
    assert response["Content-Disposition"] == f'attachment; filename="{device.external_id}.mobileconfig"'
    document = plistlib.loads(response.content)
    assert [payload["PayloadType"] for payload in document["PayloadContent"]] == [
        "com.apple.security.root",
        "com.apple.security.scep",
    ]
    assert document["PayloadContent"][0]["PayloadContent"] == pki.root.certificate_der


def test_payload_windows_csp(api, assigned, device):
    response = api.post(f"{URL}{device.pk}/payload/?kind=windows-csp")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.syncml+xml"
    assert ET.fromstring(response.content).tag == "{SYNCML:SYNCML1.2}SyncML"  # noqa: S314 - our own output


def test_payload_of_an_unknown_kind_is_a_400(api, assigned, device):
    response = api.post(f"{URL}{device.pk}/payload/?kind=pdf")

    assert response.status_code == 400
    assert response.json() == {"kind": ["choose one of json, mobileconfig, windows-csp"]}
    assert not DeviceChallenge.objects.exists()


def test_actions_on_an_unknown_device_are_404(api, db):
    assert api.post(f"{URL}999999/retire/").status_code == 404
