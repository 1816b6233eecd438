"""ca.crypto.extensions: the KB5014754 SID extension, checked byte for byte and parsed back."""

from __future__ import annotations

import pytest

from asn1crypto import core as asn1core
from asn1crypto import x509 as asn1x509

from ca.crypto.extensions import ntds_security_extension
from ca.crypto.identities import SID_PATTERN

SID = "S-1-5-21-3623811015-3361044348-30300820-1013"


def _tlv(tag: int, content: bytes) -> bytes:
    assert len(content) < 128
    return bytes([tag, len(content)]) + content


def test_extension_oid_is_szoid_ntds_ca_security_ext():
    assert ntds_security_extension(SID).oid.dotted_string == "1.3.6.1.4.1.311.25.2"


def test_extension_value_is_the_structure_ad_cs_writes():
    # SEQUENCE { [0] IMPLICIT otherName { OID 1.3.6.1.4.1.311.25.2.1, [0] EXPLICIT OCTET STRING "S-1-..." } }
    oid = _tlv(0x06, bytes.fromhex("2b060104018237190201"))
    value = _tlv(0xA0, _tlv(0x04, SID.encode("ascii")))
    expected = _tlv(0x30, _tlv(0xA0, oid + value))
    assert ntds_security_extension(SID).value == expected


def test_extension_value_parses_back_to_the_sid_with_asn1crypto():
    # The value is a GeneralNames holding one otherName: parse it with asn1crypto's own X.509 spec.
    names = asn1x509.GeneralNames.load(ntds_security_extension(SID).value)
    assert len(names) == 1
    assert names[0].name == "other_name"
    other_name = names[0].chosen
    assert other_name["type_id"].dotted == "1.3.6.1.4.1.311.25.2.1"
    assert other_name["value"].parse(asn1core.OctetString).native == SID.encode("ascii")


@pytest.mark.parametrize(
    "sid",
    ["S-1-5-21-1004336348-1177238915-682003330-512", "S-1-5-32-544", "S-1-1-0", "S-1-5-18"],
)
def test_well_formed_sids_are_accepted(sid):
    assert SID_PATTERN.match(sid)
    assert sid.encode("ascii") in ntds_security_extension(sid).value


@pytest.mark.parametrize(
    "sid", ["", "S-1", "S-1-5", "s-1-5-21-1", "S-1-5-21-abc", "S-1-5-21-1 ", "1-5-21-1", "S-1-5-21-1-\n"]
)
def test_malformed_sids_are_refused(sid):
    with pytest.raises(ValueError, match="is not a Windows SID"):
        ntds_security_extension(sid)


def test_sid_with_a_trailing_newline_is_refused():
    with pytest.raises(ValueError, match="is not a Windows SID"):
        ntds_security_extension("S-1-5-21-1004336348-1177238915-682003330-512\n")
