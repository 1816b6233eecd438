"""``manage.py scep_enroll`` and our client's request building: SANs (DNS, email, UPN, URI, IP, the SID
URI), RSA key sizes, against the live server's strict service (AES, SHA-256) with its static challenge.

A static challenge may carry DNS, email, URI and IP SANs where its service lists them, never a UPN: the
UPN is refused by the server as a UPN (``upn_not_allowed``), which shows the client encodes it as the
otherName 1.3.6.1.4.1.311.20.2.3 the server knows; profiles/tests/test_scep_enroll_checkin.py has the UPN
issued with a one-time challenge.
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path

import pytest

from asn1crypto import core as asn1core
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from django.core.management import CommandError, call_command

from ca.crypto.identities import OID_UPN, SID_URI_PREFIX
from ca.models import CertificateRequest, IssuedCertificate
from ca.tests.pki import openssl
from enrollment import scep
from enrollment.models import ScepTransaction
from enrollment.scep.client import build_csr, general_name_from_text
from enrollment.tests.fixtures import STATIC_CHALLENGE
from eventlog.choices import EventId
from eventlog.models import ConnectorEvent

os.environ.setdefault("DJANGO_LIVE_TEST_SERVER_ADDRESS", "127.0.0.1")

SID = "S-1-5-21-1004336348-1177238915-682003330-1001"


def run(live_server, tmp_path: Path, *arguments: str, path: str = "/scep/strict") -> Path:
    out = tmp_path / "cert.pem"
    call_command(
        "scep_enroll",
        f"{live_server.url}{path}",
        "--key", str(tmp_path / "key.pem"),
        "--challenge", STATIC_CHALLENGE,
        "--out", str(out),
        *arguments,
    )  # fmt: skip
    return out


def sans_of(certificate: x509.Certificate) -> list[x509.GeneralName]:
    return list(certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value)


# --- the SAN grammar ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("dns:host.example.com", x509.DNSName("host.example.com")),
        ("DNS:host.example.com", x509.DNSName("host.example.com")),
        ("email:alice@corp.example.com", x509.RFC822Name("alice@corp.example.com")),
        (
            "uri:https://corp.example.com/alice",
            x509.UniformResourceIdentifier("https://corp.example.com/alice"),
        ),
        ("URI:urn:uuid:0c5d3f4e", x509.UniformResourceIdentifier("urn:uuid:0c5d3f4e")),
        ("ip:192.0.2.7", x509.IPAddress(ipaddress.ip_address("192.0.2.7"))),
        ("IP:2001:db8::1", x509.IPAddress(ipaddress.ip_address("2001:db8::1"))),
        ("sid:" + SID, x509.UniformResourceIdentifier(SID_URI_PREFIX + SID)),
        ("sid:s" + SID[1:], x509.UniformResourceIdentifier(SID_URI_PREFIX + SID)),  # canonical S-
    ],
)
def test_san_texts(text, expected):
    assert general_name_from_text(text) == expected


@pytest.mark.parametrize("text", ["upn:alice@corp.example.com", "UPN:alice@corp.example.com"])
def test_a_upn_is_the_microsoft_othername_with_a_utf8string(text):
    name = general_name_from_text(text)

    assert isinstance(name, x509.OtherName)
    assert name.type_id == OID_UPN
    value = asn1core.UTF8String.load(name.value, strict=True)
    assert (type(value), value.native) == (asn1core.UTF8String, "alice@corp.example.com")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("host.example.com", "is not TYPE:VALUE"),
        ("dns:", "is not TYPE:VALUE"),
        ("x400:whatever", "unknown subject alternative name type 'x400'"),
        ("upn:alice", "is not a user principal name"),
        ("upn:alice@corp@example", "is not a user principal name"),
        ("upn:alice @corp.example.com", "is not a user principal name"),
        ("sid:S-1-5-21-x", "is not a Windows security identifier"),
        ("ip:999.1.1.1", "does not appear to be an IPv4 or IPv6 address"),
        ("dns:bücher.example", "'dns:bücher.example': DNSName values should be passed as an A-label"),
    ],
)
def test_bad_san_texts(text, message):
    with pytest.raises(ValueError, match=message):
        general_name_from_text(text)


def test_the_csr_carries_the_sans_in_order_as_openssl_reads_them(rsa2048_key, tmp_path):
    sans = [
        general_name_from_text(text)
        for text in [
            "dns:host.example.com",
            "upn:alice@corp.example.com",
            "email:alice@corp.example.com",
            "uri:https://corp.example.com/alice",
            "sid:" + SID,
        ]
    ]
    csr = build_csr(rsa2048_key, x509.Name.from_rfc4514_string("CN=alice"), sans=sans, challenge_password="c")
    path = tmp_path / "csr.pem"
    path.write_bytes(csr.public_bytes(serialization.Encoding.PEM))

    text = openssl("req", "-in", str(path), "-noout", "-text").stdout

    assert (
        "DNS:host.example.com, othername: UPN::alice@corp.example.com, email:alice@corp.example.com, "
        f"URI:https://corp.example.com/alice, URI:{SID_URI_PREFIX}{SID}"
    ) in text
    extension = csr.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    assert not extension.critical
    assert list(extension.value) == sans


def test_without_a_subject_the_san_extension_is_critical(rsa2048_key):
    csr = build_csr(rsa2048_key, x509.Name([]), sans=[general_name_from_text("dns:host.example.com")])
    assert csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).critical


# --- against the live server ------------------------------------------------------------------------------


def test_dns_email_and_uri_sans_are_issued(live_server, scep_service, pki, tmp_path):
    scep_service.static_san_types = ["dns", "email", "uri"]
    scep_service.save(update_fields=["static_san_types"])

    out = run(
        live_server,
        tmp_path,
        "--subject", "CN=host.example.com,O=certportal tests",
        "--san", "dns:host.example.com",
        "--san", "DNS:alias.example.com",
        "--san", "email:ops@example.com",
        "--san", "uri:https://example.com/devices/host",
    )  # fmt: skip

    certificate = x509.load_pem_x509_certificate(out.read_bytes())
    assert set(sans_of(certificate)) == {
        x509.DNSName("host.example.com"),
        x509.DNSName("alias.example.com"),
        x509.RFC822Name("ops@example.com"),
        x509.UniformResourceIdentifier("https://example.com/devices/host"),
    }
    assert certificate.subject == x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "certportal tests"),
            x509.NameAttribute(NameOID.COMMON_NAME, "host.example.com"),
        ]
    )
    text = openssl("x509", "-in", str(out), "-noout", "-ext", "subjectAltName").stdout
    assert "DNS:host.example.com" in text
    assert "email:ops@example.com" in text
    assert IssuedCertificate.objects.get().certificate == certificate
    transaction = ScepTransaction.objects.get()
    assert not transaction.service.allow_legacy_algorithms


def test_a_upn_reaches_the_server_as_a_upn_and_a_static_challenge_refuses_it(
    live_server, scep_service, tmp_path
):
    with pytest.raises(CommandError, match="FAILURE badRequest: a static challenge never authorises a UPN"):
        run(live_server, tmp_path, "--subject", "CN=alice", "--san", "upn:alice@corp.example.com")

    assert not (tmp_path / "cert.pem").exists()
    assert IssuedCertificate.objects.count() == 0
    assert CertificateRequest.objects.count() == 0
    rejected = ConnectorEvent.objects.get(event_id=EventId.CRP_VERIFY_WARNING)
    assert rejected.details["reason"] == "upn_not_allowed"


@pytest.mark.parametrize("size", [3072])
def test_a_new_key_has_the_size_asked_for(live_server, scep_service, tmp_path, size):
    out = run(live_server, tmp_path, "--subject", "CN=big-key", "--key-size", str(size))

    key = serialization.load_pem_private_key((tmp_path / "key.pem").read_bytes(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    assert key.key_size == size
    certificate = x509.load_pem_x509_certificate(out.read_bytes())
    assert certificate.public_key() == key.public_key()


def test_a_bad_san_stops_before_anything_is_sent(live_server, scep_service, tmp_path):
    with pytest.raises(CommandError, match=r"--san 'upn:alice': 'alice' is not a user principal name"):
        run(live_server, tmp_path, "--subject", "CN=alice", "--san", "upn:alice")

    assert ScepTransaction.objects.count() == 0
    assert ConnectorEvent.objects.count() == 0


def test_checkin_options_need_from_checkin(live_server, scep_service, tmp_path):
    with pytest.raises(CommandError, match="--device goes with --from-checkin"):
        run(live_server, tmp_path, "--subject", "CN=x", "--device", "dev-1")


def test_the_ndes_path_of_the_strict_default_service(live_server, scep_service, tmp_path):
    out = run(live_server, tmp_path, "--subject", "CN=ndes-path", path="/certsrv/mscep/mscep.dll")

    certificate = x509.load_pem_x509_certificate(out.read_bytes())
    assert ScepTransaction.objects.get().service == scep_service
    assert certificate.subject.rfc4514_string() == "CN=ndes-path"
    assert ScepTransaction.objects.get().message_type == scep.MessageType.PKCS_REQ
