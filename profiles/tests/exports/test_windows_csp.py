"""profiles.exports.windows_csp: parse the SyncML back with ElementTree and check every node."""

from __future__ import annotations

import base64
import dataclasses
import ipaddress
import xml.etree.ElementTree as ET

import pytest

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.name import _ASN1Type
from cryptography.x509.oid import NameOID

from ca.crypto.identities import upn_general_name
from profiles.exports.windows_csp import (
    KEY_PROTECTION,
    CspScope,
    ExportError,
    RootStore,
    WindowsScepPayload,
    build_root_syncml,
    build_scep_syncml,
    root_location_for_destination,
    scep_node_uri,
    subject_alternative_names_value,
)
from profiles.naming.request import render_request
from profiles.naming.sans import SanType, parse_san_entries
from profiles.naming.subject import parse_subject_format, render_subject
from profiles.naming.variables import CertificateType, RenderContext
from profiles.options import HashAlgorithm, KeyStorageProvider, ValidityScale

UNIQUE_ID = "ModelName_AC_0123_LogicalName_abc_def_Hash_42"
FORMAT = "{syncml:metinf}Format"


def _payload(root: x509.Certificate, **overrides: object) -> WindowsScepPayload:
    values: dict[str, object] = {
        "unique_id": UNIQUE_ID,
        "certificate_type": CertificateType.DEVICE,
        "server_urls": ("https://scep.example.com/certsrv/mscep/mscep.dll",),
        "challenge": "Q2hhbGxlbmdl",
        "subject": x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "WIN-PC01")]),
        "ca_certificate": root,
        "eku_oids": ("1.3.6.1.5.5.7.3.2",),
    }
    values.update(overrides)
    return WindowsScepPayload(**values)  # type: ignore[arg-type]


@dataclasses.dataclass
class Command:
    verb: str
    cmd_id: int
    uri: str
    fmt: str | None
    data: str | None


def _commands(parent: ET.Element) -> list[Command]:
    commands = []
    for element in parent:
        if element.tag == "CmdID":
            continue
        items = element.findall("Item")
        assert len(items) == 1
        (item,) = items
        fmt = item.find(f"Meta/{FORMAT}")
        data = item.find("Data")
        commands.append(
            Command(
                verb=element.tag,
                cmd_id=int(element.findtext("CmdID") or "0"),
                uri=item.findtext("Target/LocURI") or "",
                fmt=None if fmt is None else fmt.text,
                data=None if data is None else (data.text or ""),
            )
        )
    return commands


def _nodes(xml: str) -> dict[str, Command]:
    atomic = ET.fromstring(xml)  # noqa: S314 - our own output
    return {command.uri.rsplit("/", 1)[-1]: command for command in _commands(atomic)}


def test_full_payload(root):
    payload = _payload(
        root,
        certificate_type=CertificateType.USER,
        server_urls=("https://a.example.com/certsrv/mscep/mscep.dll", "https://b.example.com/scep"),
        eku_oids=("1.3.6.1.5.5.7.3.2", "1.3.6.1.4.1.311.20.2.2"),
        subject=render_subject(
            parse_subject_format('CN={{UserName}},OU="Mobile, EU",O=Contoso', certificate_type="user"),
            RenderContext(user_name="jane@contoso.com"),
        ),
        key_storage_provider=KeyStorageProvider.TPM_OTHERWISE_FAIL,
        key_length=4096,
        hash_algorithms=(HashAlgorithm.SHA2, HashAlgorithm.SHA1),
        subject_alt_names=(
            upn_general_name("jane@corp.contoso.com"),
            x509.RFC822Name("jane@contoso.com"),
            x509.DNSName("pc.contoso.com"),
            x509.UniformResourceIdentifier("tag:microsoft.com,2022-09-14:sid:S-1-5-21-1-2-3-1001"),
        ),
        valid_period=ValidityScale.YEARS,
        valid_period_units=1,
        retry_delay=1,
        retry_count=3,
        template_name="1.3.6.1.4.1.311.21.8.1.2",
    )
    xml = build_scep_syncml(payload, first_cmd_id=10)
    atomic = ET.fromstring(xml)  # noqa: S314 - our own output
    assert atomic.tag == "Atomic"
    assert atomic.findtext("CmdID") == "10"
    commands = _commands(atomic)
    base = f"./User/Vendor/MSFT/ClientCertificateInstall/SCEP/{UNIQUE_ID}"
    thumbprint = root.fingerprint(hashes.SHA1()).hex().upper()  # noqa: S303 - the thumbprint under test
    assert [(c.verb, c.uri.removeprefix(base), c.fmt, c.data) for c in commands] == [
        ("Add", "", "node", None),
        (
            "Add",
            "/Install/ServerURL",
            "chr",
            "https://a.example.com/certsrv/mscep/mscep.dll;https://b.example.com/scep",
        ),
        ("Add", "/Install/Challenge", "chr", "Q2hhbGxlbmdl"),
        ("Add", "/Install/EKUMapping", "chr", "1.3.6.1.5.5.7.3.2+1.3.6.1.4.1.311.20.2.2"),
        ("Add", "/Install/KeyUsage", "int", "160"),
        ("Add", "/Install/SubjectName", "chr", 'CN=jane@contoso.com, OU="Mobile, EU", O=Contoso'),
        ("Add", "/Install/KeyProtection", "int", "1"),
        ("Add", "/Install/TemplateName", "chr", "1.3.6.1.4.1.311.21.8.1.2"),
        ("Add", "/Install/KeyLength", "int", "4096"),
        ("Add", "/Install/HashAlgorithm", "chr", "SHA-1;SHA-2"),
        ("Add", "/Install/CAThumbprint", "chr", thumbprint),
        (
            "Add",
            "/Install/SubjectAlternativeNames",
            "chr",
            "11+jane@corp.contoso.com;2+jane@contoso.com;3+pc.contoso.com;7+tag:microsoft.com,2022-09-14:sid:S-1-5-21-1-2-3-1001",
        ),
        ("Add", "/Install/ValidPeriod", "chr", "Years"),
        ("Add", "/Install/ValidPeriodUnits", "int", "1"),
        ("Add", "/Install/RetryDelay", "int", "1"),
        ("Add", "/Install/RetryCount", "int", "3"),
        ("Exec", "/Install/Enroll", None, None),
    ]
    assert [c.cmd_id for c in commands] == list(range(11, 11 + len(commands)))
    assert len(thumbprint) == 40


def test_minimal_payload_omits_optional_nodes(root):
    nodes = _nodes(build_scep_syncml(_payload(root)))
    assert list(nodes) == [
        UNIQUE_ID,
        "ServerURL",
        "Challenge",
        "EKUMapping",
        "KeyUsage",
        "SubjectName",
        "KeyProtection",
        "KeyLength",
        "HashAlgorithm",
        "CAThumbprint",
        "Enroll",
    ]
    assert nodes["KeyProtection"].data == "2"  # TPM if present, otherwise software (Intune's default)
    assert nodes["HashAlgorithm"].data == "SHA-2"
    assert nodes["Enroll"].verb == "Exec"
    assert nodes[UNIQUE_ID].uri == f"./Device/Vendor/MSFT/ClientCertificateInstall/SCEP/{UNIQUE_ID}"


def test_cmd_ids_are_sequential_from_one(root):
    atomic = ET.fromstring(build_scep_syncml(_payload(root)))  # noqa: S314 - our own output
    ids = [int(e.text or "0") for e in atomic.iter("CmdID")]
    assert ids == list(range(1, len(ids) + 1))


def test_exec_enroll_is_last(root):
    atomic = ET.fromstring(build_scep_syncml(_payload(root, retry_count=0)))  # noqa: S314 - our own output
    children = [child.tag for child in atomic]
    assert children[0] == "CmdID"
    assert children[-1] == "Exec"
    assert children.count("Exec") == 1
    assert set(children[1:-1]) == {"Add"}


@pytest.mark.parametrize(
    ("certificate_type", "scope"),
    [
        (CertificateType.USER, "User"),
        (CertificateType.DEVICE, "Device"),
        ("user", "User"),
        ("machine", "Device"),
    ],
)
def test_scope_follows_certificate_type(root, certificate_type, scope):
    nodes = _nodes(build_scep_syncml(_payload(root, certificate_type=certificate_type)))
    assert all(
        c.uri.startswith(f"./{scope}/Vendor/MSFT/ClientCertificateInstall/SCEP/") for c in nodes.values()
    )
    assert (
        scep_node_uri("X", certificate_type, "Enroll")
        == f"./{scope}/Vendor/MSFT/ClientCertificateInstall/SCEP/X/Install/Enroll"
    )


@pytest.mark.parametrize(
    ("digital_signature", "key_encipherment", "expected"),
    [(True, True, "160"), (True, False, "128"), (False, True, "32")],
)
def test_key_usage(root, digital_signature, key_encipherment, expected):
    payload = _payload(root, digital_signature=digital_signature, key_encipherment=key_encipherment)
    assert _nodes(build_scep_syncml(payload))["KeyUsage"].data == expected


@pytest.mark.parametrize(
    ("ksp", "expected"),
    [
        (KeyStorageProvider.TPM_OTHERWISE_FAIL, "1"),
        (KeyStorageProvider.TPM_OTHERWISE_SOFTWARE, "2"),
        (KeyStorageProvider.SOFTWARE, "3"),
        (KeyStorageProvider.PASSPORT_OTHERWISE_FAIL, "4"),
        ("useSoftwareKsp", "3"),
    ],
)
def test_key_protection(root, ksp, expected):
    payload = _payload(root, key_storage_provider=ksp, container_name="NGC-container")
    nodes = _nodes(build_scep_syncml(payload))
    assert nodes["KeyProtection"].data == expected
    assert nodes["ContainerName"].data == "NGC-container"


def test_key_protection_covers_every_option():
    assert set(KEY_PROTECTION) == set(KeyStorageProvider)
    assert sorted(KEY_PROTECTION.values()) == [1, 2, 3, 4]


@pytest.mark.parametrize(
    ("algorithms", "expected"),
    [
        ((HashAlgorithm.SHA1,), "SHA-1"),
        ((HashAlgorithm.SHA2,), "SHA-2"),
        ((HashAlgorithm.SHA2, HashAlgorithm.SHA1), "SHA-1;SHA-2"),
        ((HashAlgorithm.SHA1, HashAlgorithm.SHA2, HashAlgorithm.SHA1), "SHA-1;SHA-2"),
        (("sha2",), "SHA-2"),
    ],
)
def test_hash_algorithms(root, algorithms, expected):
    assert (
        _nodes(build_scep_syncml(_payload(root, hash_algorithms=algorithms)))["HashAlgorithm"].data
        == expected
    )


@pytest.mark.parametrize(
    ("scale", "units", "expected"),
    [
        (ValidityScale.DAYS, 30, "Days"),
        (ValidityScale.MONTHS, 6, "Months"),
        ("years", 2, "Years"),
    ],
)
def test_valid_period(root, scale, units, expected):
    nodes = _nodes(build_scep_syncml(_payload(root, valid_period=scale, valid_period_units=units)))
    assert (nodes["ValidPeriod"].fmt, nodes["ValidPeriod"].data) == ("chr", expected)
    assert (nodes["ValidPeriodUnits"].fmt, nodes["ValidPeriodUnits"].data) == ("int", str(units))


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        ([x509.RFC822Name("a@b.c")], "2+a@b.c"),
        ([x509.DNSName("pc.example")], "3+pc.example"),
        ([x509.UniformResourceIdentifier("urn:x")], "7+urn:x"),
        ([upn_general_name("jane@contoso.com")], "11+jane@contoso.com"),
        ([upn_general_name("first+last@contoso.com")], "11+first+last@contoso.com"),
        ([x509.DNSName("a"), x509.DNSName("b")], "3+a;3+b"),
        ([], ""),
    ],
)
def test_subject_alternative_names_value(names, expected):
    assert subject_alternative_names_value(names) == expected


@pytest.mark.parametrize(
    ("names", "message"),
    [
        ([x509.UniformResourceIdentifier("urn:a;b")], "contains ';'"),
        ([upn_general_name("a;3+evil.example@contoso.com")], "contains ';'"),
        ([x509.IPAddress(ipaddress.ip_address("192.0.2.1"))], "cannot carry"),
        ([x509.OtherName(x509.ObjectIdentifier("1.2.3"), b"\x0c\x01a")], "cannot carry"),
    ],
)
def test_subject_alternative_names_errors(names, message):
    with pytest.raises(ExportError, match=message):
        subject_alternative_names_value(names)


def test_rendered_request_goes_straight_into_the_csp(root):
    fmt = parse_subject_format("CN={{DeviceName}},O=Contoso", certificate_type=CertificateType.DEVICE)
    sans = parse_san_entries([(SanType.DNS, "{{DeviceName}}.corp.contoso.com")], certificate_type="device")
    request = render_request(fmt, sans, RenderContext(device_name="WIN-PC01"))
    payload = _payload(root, subject=request.subject, subject_alt_names=request.sans)
    nodes = _nodes(build_scep_syncml(payload))
    assert nodes["SubjectName"].data == "CN=WIN-PC01, O=Contoso"
    assert nodes["SubjectAlternativeNames"].data == "3+win-pc01.corp.contoso.com"


# --------------------------------------------------------------------------------------------------
# escaping and determinism

HOSTILE = ['<&">', "]]><Exec/>", "&amp;", "</Data></Item></Add><Add>", "'\"", "Ünïcödé ✓"]


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_values_stay_well_formed(root, value):
    subject = render_subject(
        parse_subject_format("CN={{UserName}},O=Contoso", certificate_type="user"),
        RenderContext(user_name=value),
    )
    payload = _payload(root, challenge=value, subject=subject, container_name=value, template_name=value)
    xml = build_scep_syncml(payload)
    nodes = _nodes(xml)
    assert nodes["Challenge"].data == value
    assert nodes["ContainerName"].data == value
    assert nodes["TemplateName"].data == value
    quoted = '"' + value.replace('"', '""') + '"' if any(c in value for c in ',=+;"<>#') else value
    assert nodes["SubjectName"].data == f"CN={quoted}, O=Contoso"
    assert sum(1 for c in nodes.values() if c.verb == "Exec") == 1


@pytest.mark.parametrize("value", ["a\x00b", "line\nbreak", "tab\t", "\x1b"])
def test_control_characters_are_refused(root, value):
    with pytest.raises(ExportError, match="SyncML cannot carry"):
        build_scep_syncml(_payload(root, challenge=value))


def test_output_is_deterministic(root):
    payload = _payload(root, subject_alt_names=(x509.DNSName("a.example"),), retry_count=2)
    assert build_scep_syncml(payload) == build_scep_syncml(payload)


def test_format_element_is_in_the_metinf_namespace(root):
    xml = build_scep_syncml(_payload(root))
    assert '<Format xmlns="syncml:metinf">chr</Format>' in xml
    atomic = ET.fromstring(xml)  # noqa: S314 - our own output
    assert {e.text for e in atomic.iter(FORMAT)} == {"node", "chr", "int"}


# --------------------------------------------------------------------------------------------------
# errors


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"unique_id": ""}, "UniqueID"),
        ({"unique_id": "a/b"}, "UniqueID"),
        ({"unique_id": "a b"}, "UniqueID"),
        ({"unique_id": "a?b"}, "UniqueID"),
        ({"server_urls": ()}, "at least one SCEP server URL"),
        ({"server_urls": ("https://a;https://b",)}, "without ';'"),
        ({"server_urls": ("ftp://a",)}, "must be an http"),
        ({"server_urls": ("https://a b",)}, "without ';' or spaces"),
        ({"challenge": ""}, "challenge is empty"),
        ({"eku_oids": ()}, "at least one extended key usage"),
        ({"eku_oids": ("clientAuth",)}, "is not a dotted OID"),
        ({"eku_oids": ("1.3.6.1.5.5.7.3.2+1.2.3",)}, "is not a dotted OID"),
        ({"key_length": 3072}, "key size 3072"),
        ({"digital_signature": False, "key_encipherment": False}, "at least one key usage"),
        ({"key_storage_provider": KeyStorageProvider.PASSPORT_OTHERWISE_FAIL}, "needs a ContainerName"),
        (
            {
                "key_storage_provider": KeyStorageProvider.PASSPORT_OTHERWISE_FAIL,
                "container_name": "c",
                "hash_algorithms": (HashAlgorithm.SHA1,),
            },
            "need SHA-2 and a 2048-bit key",
        ),
        (
            {
                "key_storage_provider": KeyStorageProvider.PASSPORT_OTHERWISE_FAIL,
                "container_name": "c",
                "key_length": 4096,
            },
            "need SHA-2 and a 2048-bit key",
        ),
        ({"hash_algorithms": ()}, "at least one hash algorithm"),
        ({"valid_period": ValidityScale.DAYS}, "given together"),
        ({"valid_period_units": 3}, "given together"),
        ({"valid_period": ValidityScale.DAYS, "valid_period_units": 0}, "at least 1"),
        ({"retry_delay": 0}, "RetryDelay"),
        ({"retry_count": 31}, "RetryCount"),
        ({"retry_count": -1}, "RetryCount"),
        ({"subject_alt_names": (x509.DNSName("a;b"),)}, "contains ';'"),
    ],
)
def test_errors(root, overrides, message):
    with pytest.raises(ExportError, match=message):
        build_scep_syncml(_payload(root, **overrides))


def test_binary_subject_attribute_is_refused(root):
    subject = x509.Name([x509.NameAttribute(NameOID.X500_UNIQUE_IDENTIFIER, b"\x01", _ASN1Type.BitString)])
    with pytest.raises(ExportError, match="binary value"):
        build_scep_syncml(_payload(root, subject=subject))


def test_first_cmd_id_must_be_positive(root):
    with pytest.raises(ExportError, match="CmdIDs start at 1"):
        build_scep_syncml(_payload(root), first_cmd_id=0)


# --------------------------------------------------------------------------------------------------
# trusted roots


@pytest.mark.parametrize(
    ("store", "scope"),
    [(RootStore.ROOT, CspScope.DEVICE), (RootStore.CA, CspScope.DEVICE), ("CA", "User"), ("Root", "Device")],
)
def test_root_syncml(root, store, scope):
    der = root.public_bytes(Encoding.DER)
    xml = build_root_syncml(der, store=store, scope=scope, first_cmd_id=5)
    add = ET.fromstring(xml)  # noqa: S314 - our own output
    assert add.tag == "Add"
    (command,) = _commands(ET.fromstring(f"<_>{xml}</_>"))  # noqa: S314 - our own output
    thumbprint = root.fingerprint(hashes.SHA1()).hex().upper()  # noqa: S303 - the thumbprint under test
    assert command.cmd_id == 5
    assert (
        command.uri
        == f"./{scope}/Vendor/MSFT/RootCATrustedCertificates/{store}/{thumbprint}/EncodedCertificate"
    )
    assert command.fmt == "b64"
    assert command.data is not None
    assert "\n" not in command.data
    assert base64.b64decode(command.data, validate=True) == der


def test_root_syncml_defaults_to_the_device_root_store(root):
    xml = build_root_syncml(root.public_bytes(Encoding.DER))
    (command,) = _commands(ET.fromstring(f"<_>{xml}</_>"))  # noqa: S314 - our own output
    assert command.uri.startswith("./Device/Vendor/MSFT/RootCATrustedCertificates/Root/")
    assert command.cmd_id == 1
    assert build_root_syncml(root.public_bytes(Encoding.DER)) == xml


@pytest.mark.parametrize(
    ("der", "store", "message"),
    [
        (b"not a certificate", RootStore.ROOT, "not a DER-encoded certificate"),
        (b"", RootStore.ROOT, "not a DER-encoded certificate"),
        (None, "My", "'My' is not a valid RootStore"),
    ],
)
def test_root_syncml_errors(root, der, store, message):
    with pytest.raises(ExportError, match=message):
        build_root_syncml(root.public_bytes(Encoding.DER) if der is None else der, store=store)


@pytest.mark.parametrize(
    ("destination", "expected"),
    [
        ("computerCertStoreRoot", (CspScope.DEVICE, RootStore.ROOT)),
        ("computerCertStoreIntermediate", (CspScope.DEVICE, RootStore.CA)),
        ("userCertStoreIntermediate", (CspScope.USER, RootStore.CA)),
    ],
)
def test_root_location_for_destination(destination, expected):
    assert root_location_for_destination(destination) == expected


def test_unknown_destination():
    with pytest.raises(ExportError, match="unknown certificate destination store"):
        root_location_for_destination("userCertStoreRoot")
