"""What a static challenge authorises: only what its SCEP service allows (ESC1).

Before, anyone who knew a service's static challenge could put the KB5014754 SID URI of any account in
the CSR and get a Client Authentication certificate that AD maps to that account. Now the SAN types are
the service's list (DNS by default), never a UPN, the SID URI or the SID extension; the subject must
match the service's pattern, and may come from the request only if the service says so. Every refusal is
CertRep FAILURE badRequest, recorded (20501 with the reason, 4005) with a FAILURE transaction.
"""

from __future__ import annotations

import ipaddress

import pytest

from asn1crypto import core as asn1core
from cryptography import x509
from cryptography.x509.oid import NameOID

from ca.constants import OID_NTDS_CA_SECURITY_EXT, OID_NTDS_OBJECTSID
from ca.crypto.extensions import ntds_security_extension
from ca.crypto.identities import upn_general_name
from enrollment import scep
from enrollment.choices import TransactionStatus
from enrollment.models import ScepTransaction
from enrollment.services.registration import scep_service_set_static_policy
from enrollment.tests.fixtures import Device, assert_refused, issued_row, name
from eventlog.choices import EventId, EventLevel
from eventlog.models import ConnectorEvent

SID = "S-1-5-21-1004336348-1177238915-682003330-500"  # a domain's built-in Administrator
SID_URI = f"tag:microsoft.com,2022-09-14:sid:{SID}"


def sans(*names: x509.GeneralName) -> tuple[x509.ExtensionType, ...]:
    return (x509.SubjectAlternativeName(list(names)),)


def refused(scep_client, device: Device, csr: x509.CertificateSigningRequest, reason: str) -> str:
    """Send ``csr``; assert the refusal, its events and its transaction; return the failInfoText."""
    sent = scep_client.pkcs_req(device, csr)
    result = scep_client.exchange(sent)
    assert_refused(result, scep.FailInfo.BAD_REQUEST, requests=0)
    rejected = ConnectorEvent.objects.get(
        event_id=EventId.CRP_VERIFY_WARNING, transaction_id=sent.transaction_id
    )
    assert (rejected.level, rejected.fail_info, rejected.details["reason"]) == (
        EventLevel.WARNING,
        int(scep.FailInfo.BAD_REQUEST),
        reason,
    )
    assert rejected.message == f"challenge rejected: {result.fail_info_text}"
    transaction = ScepTransaction.objects.get(transaction_id=sent.transaction_id)
    assert (transaction.status, transaction.fail_info, transaction.certificate) == (
        TransactionStatus.FAILURE,
        int(scep.FailInfo.BAD_REQUEST),
        None,
    )
    return str(result.fail_info_text)


# --- the SID: never, whatever the service allows -----------------------------------------------------------


@pytest.mark.parametrize(
    "uri",
    [
        SID_URI,
        SID_URI.upper(),
        "Tag:Microsoft.com,2022-09-14:SID:" + SID,
        "tag:microsoft.com,2022-09-14:%73id:" + SID,  # percent-encoded
        " " + SID_URI,
    ],
)
def test_the_sid_uri_is_refused_even_where_uris_are_allowed(db, scep_client, scep_service, device_keys, uri):
    scep_service_set_static_policy(service=scep_service, san_types=["dns", "uri"])
    device = Device.create(device_keys[0], "attacker-laptop")
    csr = device.csr(extensions=sans(x509.DNSName("laptop.example"), x509.UniformResourceIdentifier(uri)))

    text = refused(scep_client, device, csr, "sid_not_allowed")

    assert "SID URI" in text


def test_the_sid_uri_is_refused_by_default(db, scep_client, device_keys):
    device = Device.create(device_keys[0])
    csr = device.csr(extensions=sans(x509.UniformResourceIdentifier(SID_URI)))
    assert "SID URI" in refused(scep_client, device, csr, "sid_not_allowed")


def test_a_requested_sid_extension_is_refused(db, scep_client, device_keys):
    device = Device.create(device_keys[0])
    extension = ntds_security_extension(SID)  # as AD CS writes it
    assert extension.oid == OID_NTDS_CA_SECURITY_EXT
    csr = device.csr(extensions=(extension,))
    assert "SID extension" in refused(scep_client, device, csr, "sid_not_allowed")


def test_a_sid_other_name_is_refused(db, scep_client, device_keys):
    device = Device.create(device_keys[0])
    other = x509.OtherName(OID_NTDS_OBJECTSID, asn1core.OctetString(SID.encode("ascii")).dump())
    csr = device.csr(extensions=sans(other))
    assert "SID" in refused(scep_client, device, csr, "sid_not_allowed")


def test_a_upn_is_refused(db, scep_client, device_keys):
    device = Device.create(device_keys[0])
    csr = device.csr(extensions=sans(x509.DNSName("dev.example"), upn_general_name("administrator@corp")))
    assert "UPN" in refused(scep_client, device, csr, "upn_not_allowed")


def test_another_other_name_is_refused(db, scep_client, device_keys):
    device = Device.create(device_keys[0])
    other = x509.OtherName(x509.ObjectIdentifier("1.3.6.1.4.1.99999.1"), asn1core.UTF8String("x").dump())
    assert "otherName" in refused(
        scep_client, device, device.csr(extensions=sans(other)), "san_type_not_allowed"
    )


# --- the SAN types the service lists ----------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_dns_names_are_allowed_by_default(scep_client, device_keys):
    device = Device.create(device_keys[0])
    result = scep_client.enroll(device, device.csr(extensions=sans(x509.DNSName("dev.example"))))
    assert result.status is scep.PkiStatus.SUCCESS, result.fail_info_text
    names = result.certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert list(names) == [x509.DNSName("dev.example")]


@pytest.mark.parametrize(
    ("name_", "label"),
    [
        (x509.RFC822Name("ceo@corp.example"), "Email"),
        (x509.IPAddress(ipaddress.ip_address("192.0.2.7")), "IP address"),
        (x509.UniformResourceIdentifier("https://device.example/"), "URI"),
    ],
)
def test_other_types_are_refused_by_default(db, scep_client, device_keys, name_, label):
    device = Device.create(device_keys[0])
    text = refused(scep_client, device, device.csr(extensions=sans(name_)), "san_type_not_allowed")
    assert text.startswith(f"SCEP service strict does not let a static challenge request {label}")
    assert text.endswith("(allowed: dns)")


@pytest.mark.django_db(transaction=True)
def test_email_is_allowed_when_the_service_lists_it(scep_client, scep_service, device_keys):
    scep_service_set_static_policy(service=scep_service, san_types=["dns", "email"])
    device = Device.create(device_keys[0])
    csr = device.csr(extensions=sans(x509.DNSName("dev.example"), x509.RFC822Name("dev@corp.example")))

    result = scep_client.enroll(device, csr)

    assert result.status is scep.PkiStatus.SUCCESS, result.fail_info_text
    names = result.certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sorted(map(str, names)) == sorted(
        map(str, [x509.DNSName("dev.example"), x509.RFC822Name("dev@corp.example")])
    )


def test_no_san_at_all_when_the_list_is_empty(db, scep_client, scep_service, device_keys):
    scep_service_set_static_policy(service=scep_service, san_types=[])
    device = Device.create(device_keys[0])
    text = refused(
        scep_client, device, device.csr(extensions=sans(x509.DNSName("a.example"))), "san_type_not_allowed"
    )
    assert text.endswith("(allowed: none)")


# --- the subject -----------------------------------------------------------------------------------------


PATTERN = r"CN=[a-z0-9-]{1,32},O=certportal tests"


@pytest.mark.django_db(transaction=True)
def test_a_subject_that_matches_the_pattern_is_issued(scep_client, scep_service, device_keys):
    scep_service_set_static_policy(service=scep_service, subject_pattern=PATTERN)
    device = Device.create(device_keys[0], "kiosk-7")

    result = scep_client.enroll(device)

    assert result.status is scep.PkiStatus.SUCCESS, result.fail_info_text
    assert issued_row(result).subject == "CN=kiosk-7,O=certportal tests"


@pytest.mark.parametrize(
    "subject",
    [
        name("Administrator"),  # upper case: not in the pattern
        name("kiosk-7,O=certportal tests"),  # an escaped comma inside the CN
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kiosk-7")]),  # no O
        x509.Name(
            [
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "certportal tests"),
                x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "Domain Controllers"),
                x509.NameAttribute(NameOID.COMMON_NAME, "kiosk-7"),
            ]
        ),
    ],
    ids=["case", "escaped-comma", "missing-rdn", "extra-rdn"],
)
def test_a_subject_outside_the_pattern_is_refused(db, scep_client, scep_service, device_keys, subject):
    scep_service_set_static_policy(service=scep_service, subject_pattern=PATTERN)
    device = Device.create(device_keys[0])

    text = refused(scep_client, device, device.csr(subject=subject), "subject_pattern_mismatch")

    assert text == (
        f"the requested subject ({subject.rfc4514_string()}) does not match the subject pattern of SCEP "
        "service strict"
    )


def test_a_service_that_does_not_take_the_subject_from_the_request_refuses_static_requests(
    db, scep_client, scep_service, device_keys
):
    scep_service_set_static_policy(service=scep_service, subject_from_request=False)
    device = Device.create(device_keys[0])

    text = refused(scep_client, device, device.csr(), "subject_not_from_request")

    assert text == (
        "SCEP service strict does not let a static-challenge request supply its subject; enroll with a "
        "one-time challenge from a SCEP profile"
    )


def test_an_overlong_subject_is_refused_before_the_pattern_runs(db, scep_client, scep_service, device_keys):
    scep_service_set_static_policy(service=scep_service, subject_pattern=PATTERN)
    device = Device.create(device_keys[0])
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, f"unit-{index:02d}-" + "x" * 50)
            for index in range(20)
        ]
    )
    assert len(subject.rfc4514_string()) > 512

    text = refused(scep_client, device, device.csr(subject=subject), "subject_too_long")

    assert text == "the requested subject is longer than 512 characters"
