"""The XML writers never write what XML cannot carry: they refuse it, naming the value, or write it so that
parsing the output gives the same value back.
"""

from __future__ import annotations

import plistlib
import xml.etree.ElementTree as ET

import pytest

from cryptography import x509
from cryptography.x509.oid import NameOID

from profiles.exports.common import ExportError, xml_text_problem
from profiles.exports.mobileconfig import ProfileInfo, ScepPayload, build_mobileconfig
from profiles.exports.windows_csp import WindowsScepPayload, build_scep_syncml
from profiles.exports.x500 import x500_subject_string
from profiles.naming.variables import CertificateType

#: What no XML document can hold, not even as a character reference.
NOT_XML = ["\uffff", "\ufffe", "\ud800", "\udfff", "\x00", "\x01", "\x0b", "\x1f"]
#: Nor a node's value in SyncML: tab and line breaks neither.
NOT_NODE = [*NOT_XML, "\n", "\r", "\t"]
#: Odd but legal: what the writers must carry unchanged.
ODD_BUT_FINE = [
    'q"uote',
    "<b>&amp;</b>",
    "it's",
    "Zoë Łukasz 東京",
    "\U0001f600",
    "\ufffd",
    "\U0001ffff",
    "\x85",
]


def _name(value: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, value)])


def _scep(root: x509.Certificate, **overrides: object) -> ScepPayload:
    values: dict[str, object] = {
        "identifier": "org.certportal.device.d1.scep.1",
        "display_name": "SCEP",
        "url": "https://scep.example.com/certsrv/mscep/mscep.dll",
        "subject": _name("jdoe"),
        "challenge": "cp1.x.y",
        "ca_certificate": root,
    }
    values.update(overrides)
    return ScepPayload(**values)  # type: ignore[arg-type]


def _windows(root: x509.Certificate, **overrides: object) -> WindowsScepPayload:
    values: dict[str, object] = {
        "unique_id": "certportal_1",
        "certificate_type": CertificateType.USER,
        "server_urls": ("https://scep.example.com/certsrv/mscep/mscep.dll",),
        "challenge": "cp1.x.y",
        "subject": _name("jdoe"),
        "ca_certificate": root,
        "eku_oids": ("1.3.6.1.5.5.7.3.2",),
    }
    values.update(overrides)
    return WindowsScepPayload(**values)  # type: ignore[arg-type]


PROFILE = ProfileInfo(identifier="org.certportal.device.d1", display_name="certportal certificates")


_SCEP_KEY = "PayloadContent[0].PayloadContent"
#: Where a value goes, and which characters can get there: a subject takes any string but a lone
#: surrogate (cryptography encodes it as UTF-8 at once), a SAN only ASCII (IA5String).
MOBILECONFIG_PLACES = [
    *[(c, lambda root, v: [_scep(root, subject=_name(f"jd{v}oe"))], f"{_SCEP_KEY}.Subject[0][0][1]")
      for c in NOT_XML if not 0xD800 <= ord(c) <= 0xDFFF],
    *[(c, lambda root, v: [_scep(root, subject_alt_names=(x509.DNSName(f"a{v}.example"),))],
       f"{_SCEP_KEY}.SubjectAltName.dNSName") for c in NOT_XML if c.isascii()],
    *[(c, lambda root, v: [_scep(root, display_name=f"SCEP {v}")], "PayloadContent[0].PayloadDisplayName")
      for c in NOT_XML],
    *[(c, lambda root, v: [_scep(root, challenge=f"cp1.{v}")], f"{_SCEP_KEY}.Challenge") for c in NOT_XML],
]  # fmt: skip


@pytest.mark.parametrize(("char", "build", "key"), MOBILECONFIG_PLACES)
def test_the_mobileconfig_refuses_what_xml_cannot_carry(root, char, build, key):
    with pytest.raises(ExportError) as exc_info:
        build_mobileconfig(PROFILE, build(root, char))
    assert str(exc_info.value).startswith(f"{key} contains U+{ord(char):04X} at position ")
    assert str(exc_info.value).endswith("which a property list cannot carry")


def test_the_mobileconfig_refuses_a_carriage_return_which_xml_would_read_as_a_line_feed(root):
    profile = ProfileInfo(identifier="org.certportal.device.PC\r\n1", display_name="x")
    with pytest.raises(ExportError, match=r"PayloadIdentifier contains U\+000D at position 25"):
        build_mobileconfig(profile, [])


@pytest.mark.parametrize("value", [*ODD_BUT_FINE, "two\nlines", "tab\tbed"])
def test_the_mobileconfig_carries_any_other_text_unchanged(root, value):
    payload = _scep(root, subject=_name(value), challenge=value, display_name=value)
    profile = ProfileInfo(identifier=f"org.certportal.device.{value}", display_name=value, description=value)
    document = plistlib.loads(build_mobileconfig(profile, [payload]), fmt=plistlib.FMT_XML)
    (scep,) = document["PayloadContent"]
    assert document["PayloadIdentifier"] == f"org.certportal.device.{value}"
    assert (document["PayloadDisplayName"], document["PayloadDescription"]) == (value, value)
    assert (scep["PayloadDisplayName"], scep["PayloadContent"]["Challenge"]) == (value, value)
    assert scep["PayloadContent"]["Subject"] == [[["CN", value]]]


WINDOWS_PLACES = [
    *[("SubjectName", c, {"subject": _name(f"jd{c}oe")}) for c in NOT_NODE if not 0xD800 <= ord(c) <= 0xDFFF],
    *[("Challenge", c, {"challenge": f"cp1{c}"}) for c in NOT_NODE],
    *[("ContainerName", c, {"container_name": f"c{c}"}) for c in NOT_NODE],
    *[("SubjectAlternativeNames", c, {"subject_alt_names": (x509.RFC822Name(f"j{c}@corp.example"),)})
      for c in NOT_NODE if c.isascii()],
]  # fmt: skip


@pytest.mark.parametrize(("node", "char", "overrides"), WINDOWS_PLACES)
def test_the_windows_csp_refuses_what_a_node_cannot_carry(root, node, char, overrides):
    with pytest.raises(ExportError) as exc_info:
        build_scep_syncml(_windows(root, **overrides))
    assert str(exc_info.value).startswith(f"{node} contains the character U+{ord(char):04X} at position ")
    assert str(exc_info.value).endswith("which SyncML cannot carry")


@pytest.mark.parametrize("value", ODD_BUT_FINE)
def test_the_windows_csp_carries_any_other_text_unchanged(root, value):
    xml = build_scep_syncml(_windows(root, challenge=value, container_name=value, subject=_name(value)))
    items = {
        item.findtext("Target/LocURI", "").rsplit("/", 1)[-1]: item.findtext("Data")
        for item in ET.fromstring(f"<r>{xml}</r>").iter("Item")  # noqa: S314 - our own output
    }
    assert (items["Challenge"], items["ContainerName"]) == (value, value)
    assert items["SubjectName"] == x500_subject_string(_name(value))


def test_xml_text_problem_names_the_first_character_xml_cannot_carry():
    assert xml_text_problem("fine\tline\n\r") is None
    assert xml_text_problem("a\uffffb\x00") == "U+FFFF at position 2"
    assert xml_text_problem("ab\rc\x00", forbidden="\r") == "U+000D at position 3"
    assert xml_text_problem("a\x00b\r", forbidden="\r") == "U+0000 at position 2"
