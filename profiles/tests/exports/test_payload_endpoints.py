"""The payload endpoints (GET /api/v1/checkin/mobileconfig/ and /windows-csp/, POST
/api/v1/devices/{id}/payload/?kind=...) answer a well-formed payload or a 4xx with the reason: never a
malformed .mobileconfig, a 500, or a Content-Disposition that a name can break.
"""

from __future__ import annotations

import plistlib
import xml.etree.ElementTree as ET

import pytest

from django.utils.http import parse_header_parameters
from rest_framework.test import APIClient

from directory.models import Device, DirectoryUser
from directory.services.checkin_tokens import device_checkin_token_rotate
from profiles.services.payloads import mobileconfig_content_disposition

pytestmark = pytest.mark.django_db

CHECKIN = "/api/v1/checkin/"


def _device_client(device: Device) -> APIClient:
    client = APIClient()
    token = device_checkin_token_rotate(device=device)
    client.credentials(HTTP_AUTHORIZATION=f"Device {device.external_id}:{token}")
    return client


@pytest.fixture
def admin_client(admin_user) -> APIClient:
    client = APIClient()
    client.force_authenticate(admin_user)
    return client


def _payload(client: APIClient, device: Device, kind: str):
    return client.post(f"/api/v1/devices/{device.pk}/payload/?kind={kind}")


def _legacy(model, pk: int, **values: str) -> None:
    """A value stored before the directory refused it (written past the validators, as old rows were)."""
    model.objects.filter(pk=pk).update(**values)


@pytest.mark.parametrize("attribute", ["user_name", "user_principal_name"])
def test_a_value_xml_cannot_carry_is_a_409_not_a_malformed_mobileconfig_or_a_500(
    assigned, device, user, admin_client, attribute
):
    """Finding 3: U+FFFF in a directory attribute made a malformed .mobileconfig and a 500 on windows-csp."""
    value = "jd\uffffoe" if attribute == "user_name" else "jd\uffffoe@corp.example.com"
    _legacy(DirectoryUser, user.pk, **{attribute: value})
    device.refresh_from_db()
    answers = [
        _device_client(device).get(f"{CHECKIN}mobileconfig/"),
        _device_client(device).get(f"{CHECKIN}windows-csp/"),
        _payload(admin_client, device, "mobileconfig"),
        _payload(admin_client, device, "windows-csp"),
    ]
    for response, carrier in zip(
        answers, ["property list", "SyncML", "property list", "SyncML"], strict=True
    ):
        assert response.status_code == 409, response.content
        body = response.json()
        assert body["code"] == "payload_not_representable"
        assert "U+FFFF at position " in body["detail"]
        assert (
            f"which {carrier} cannot carry" in body["detail"] or f"a {carrier} cannot carry" in body["detail"]
        )
        assert "correct that value in the directory or the profile" in body["detail"]
    json_checkin = _device_client(device).get(CHECKIN)  # JSON carries any character
    assert json_checkin.status_code == 200
    assert value in json_checkin.content.decode()


ODD = ['Zoë "Z" O\'Brien <&>', "東京 \U0001f600", "a+b,c=d;e#f"]


@pytest.mark.parametrize("value", ODD)
def test_odd_but_valid_directory_values_give_well_formed_payloads(
    assigned, device, user, admin_client, value
):
    user.user_name = value
    user.full_clean()
    user.save()
    device.refresh_from_db()

    mobileconfig = _device_client(device).get(f"{CHECKIN}mobileconfig/")
    assert mobileconfig.status_code == 200
    scep = plistlib.loads(mobileconfig.content)["PayloadContent"][1]["PayloadContent"]
    assert [["CN", value]] in scep["Subject"]

    for response in (
        _device_client(device).get(f"{CHECKIN}windows-csp/"),
        _payload(admin_client, device, "windows-csp"),
    ):
        assert response.status_code == 200
        root = ET.fromstring(response.content)  # noqa: S314 - our own output
        names = [
            item.findtext("{SYNCML:SYNCML1.2}Data")
            for item in root.iter("{SYNCML:SYNCML1.2}Item")
            if item.findtext("{SYNCML:SYNCML1.2}Target/{SYNCML:SYNCML1.2}LocURI", "").endswith("/SubjectName")
        ]
        assert len(names) == 1
        assert value in (names[0] or "").replace('""', '"')


@pytest.mark.parametrize(
    ("external_id", "filename", "encoded"),
    [
        ('PC"1', "PC_1.mobileconfig", 'filename="PC_1.mobileconfig"'),
        ('PC\\"; filename="evil.sh', "PC____filename__evil.sh.mobileconfig", None),
        ("../../etc/passwd", "etc_passwd.mobileconfig", None),
        ("Zoë's iPhone", "Zoë_s_iPhone.mobileconfig", "filename*=utf-8''Zo%C3%AB_s_iPhone.mobileconfig"),
        ("...", "device.mobileconfig", None),
    ],
)
def test_the_download_name_is_quoted_and_cannot_be_broken_by_the_external_id(
    assigned, device, admin_client, external_id, filename, encoded
):
    """Finding 3: a " in the name broke the payload download's Content-Disposition."""
    _legacy(Device, device.pk, external_id=external_id)
    device.refresh_from_db()
    response = _payload(admin_client, device, "mobileconfig")
    assert response.status_code == 200
    for header in (response["Content-Disposition"], mobileconfig_content_disposition(device)):
        disposition, parameters = parse_header_parameters(header)
        assert (disposition, parameters["filename"]) == ("attachment", filename)
        assert len(parameters) == 1
        if encoded is not None:
            assert header == f"attachment; {encoded}"
    assert plistlib.loads(response.content)["PayloadIdentifier"] == f"org.certportal.device.{external_id}"


@pytest.mark.parametrize(("external_id", "status"), [("PC-1\r\nX-Evil: 1", 409), ("PC\n1", 200)])
def test_a_stored_line_break_in_an_external_id_never_reaches_a_header(
    assigned, device, admin_client, external_id, status
):
    """Finding 3: CR/LF in a device external_id. The directory refuses it now; one stored before is kept out
    of the header, and a CR (which XML reads back as LF) out of the .mobileconfig.
    """
    _legacy(Device, device.pk, external_id=external_id)
    device.refresh_from_db()
    response = _payload(admin_client, device, "mobileconfig")
    assert response.status_code == status, response.content
    if status == 409:
        assert "U+000D" in response.json()["detail"]
    else:
        assert response["Content-Disposition"] == 'attachment; filename="PC_1.mobileconfig"'
        assert plistlib.loads(response.content)["PayloadIdentifier"] == "org.certportal.device.PC\n1"
    assert "\n" not in "".join(f"{name}{value}" for name, value in response.items())
