"""profiles.exports.x500: CertStrToName output, and that it parses back to the same name."""

from __future__ import annotations

import pytest

from cryptography import x509
from cryptography.x509.name import _ASN1Type
from cryptography.x509.oid import NameOID

from profiles.exports.x500 import x500_subject_string
from profiles.naming.subject import (
    parse_subject_format,
    render_subject,
)
from profiles.naming.variables import (
    RenderContext,
    RenderError,
)
from profiles.tests.naming.samples import (
    DEVICE,
    cn,
)

# --------------------------------------------------------------------------------------------------
# CertStrToName output


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (cn("plain"), "CN=plain"),
        (cn("a, b"), 'CN="a, b"'),
        (cn('say "hi"'), 'CN="say ""hi"""'),
        (cn(" pad"), 'CN=" pad"'),
        (cn("a=b"), 'CN="a=b"'),
        (cn("a+b"), 'CN="a+b"'),
        (cn("a;b"), 'CN="a;b"'),
        (cn("#x"), 'CN="#x"'),
        (cn("<x>"), 'CN="<x>"'),
        (
            x509.Name(
                [
                    x509.NameAttribute(NameOID.COMMON_NAME, "c"),
                    x509.NameAttribute(NameOID.EMAIL_ADDRESS, "e@x"),
                    x509.NameAttribute(NameOID.STATE_OR_PROVINCE_NAME, "WA"),
                    x509.NameAttribute(NameOID.SERIAL_NUMBER, "123"),
                    x509.NameAttribute(NameOID.DOMAIN_COMPONENT, "corp"),
                    x509.NameAttribute(NameOID.SURNAME, "Doe"),
                    x509.NameAttribute(NameOID.POSTAL_CODE, "98052"),
                ]
            ),
            "CN=c, E=e@x, S=WA, 2.5.4.5=123, DC=corp, SN=Doe, 2.5.4.17=98052",
        ),
        (
            x509.Name(
                [
                    x509.RelativeDistinguishedName(
                        [
                            x509.NameAttribute(NameOID.COMMON_NAME, "a"),
                            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "b"),
                        ]
                    )
                ]
            ),
            "CN=a + O=b",
        ),
        (x509.Name([]), ""),
    ],
)
def test_x500_subject_string(name, expected):
    assert x500_subject_string(name) == expected
    if expected:
        assert (
            render_subject(parse_subject_format(expected, certificate_type=DEVICE), RenderContext()) == name
        )


def test_x500_subject_string_refuses_binary_values():
    name = x509.Name([x509.NameAttribute(NameOID.X500_UNIQUE_IDENTIFIER, b"\x01", _ASN1Type.BitString)])
    with pytest.raises(RenderError, match="binary value"):
        x500_subject_string(name)
