"""ca.crypto.builders: certificates assembled from a template's policy and the issuing CA, no database."""

from __future__ import annotations

import datetime as dt

import pytest

from asn1crypto.core import UTF8String
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID, ExtensionOID, NameOID

from ca.constants import OID_NTDS_CA_SECURITY_EXT
from ca.crypto.builders import (
    CaCertificateSpec,
    EndEntitySpec,
    KeyUsageSpec,
    build_ca_certificate,
    build_end_entity_certificate,
    hash_algorithm,
)
from ca.crypto.identities import OID_UPN
from ca.tests.pki import make_csr, openssl_text, openssl_verify

NOW = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
SUBJECT = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "device-1")])


def _spec(public_key, **overrides) -> EndEntitySpec:
    values = {
        "public_key": public_key,
        "subject": SUBJECT,
        "sans": [x509.DNSName("device-1.corp.example")],
        "serial": 0x1234,
        "not_before": NOW - dt.timedelta(minutes=5),
        "not_after": NOW + dt.timedelta(days=365),
        "key_usage": KeyUsageSpec(digital_signature=True, key_encipherment=True),
        "extended_key_usages": (ExtendedKeyUsageOID.CLIENT_AUTH.dotted_string,),
        "crl_url": "http://pki.example/crl/issuing.crl",
        "issuer_url": "http://pki.example/ca/issuing.crt",
    }
    values.update(overrides)
    return EndEntitySpec(**values)


def _build(crypto_chain, public_key, **overrides) -> x509.Certificate:
    return build_end_entity_certificate(
        _spec(public_key, **overrides),
        issuer_certificate=crypto_chain.issuing,
        issuer_key=crypto_chain.issuing_key,
    )


def test_end_entity_basic_constraints_is_ca_false_and_critical(crypto_chain, rsa2048_key):
    cert = _build(crypto_chain, rsa2048_key.public_key())
    extension = cert.extensions.get_extension_for_class(x509.BasicConstraints)
    assert extension.critical is True
    assert extension.value == x509.BasicConstraints(ca=False, path_length=None)


@pytest.mark.parametrize(
    ("digital_signature", "key_encipherment", "non_repudiation"),
    [
        (True, True, False),
        (True, False, False),
        (False, True, False),
        (True, True, True),
        (True, False, True),
    ],
)
def test_key_usage_is_critical_and_exactly_as_the_template_says(
    crypto_chain, rsa2048_key, digital_signature, key_encipherment, non_repudiation
):
    usage = KeyUsageSpec(
        digital_signature=digital_signature,
        key_encipherment=key_encipherment,
        non_repudiation=non_repudiation,
    )
    cert = _build(crypto_chain, rsa2048_key.public_key(), key_usage=usage)
    extension = cert.extensions.get_extension_for_class(x509.KeyUsage)
    assert extension.critical is True
    assert extension.value == x509.KeyUsage(
        digital_signature=digital_signature,
        content_commitment=non_repudiation,
        key_encipherment=key_encipherment,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )


def test_extended_key_usages_are_the_specs_oids_in_order_and_not_critical(crypto_chain, rsa2048_key):
    oids = ("1.3.6.1.5.5.7.3.2", "1.3.6.1.4.1.311.20.2.2", "1.2.3.4.5.6", "1.3.6.1.5.5.7.3.4")
    cert = _build(crypto_chain, rsa2048_key.public_key(), extended_key_usages=oids)
    extension = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    assert extension.critical is False
    assert [oid.dotted_string for oid in extension.value] == list(oids)


def test_no_extended_key_usage_extension_without_application_policies(crypto_chain, rsa2048_key):
    cert = _build(crypto_chain, rsa2048_key.public_key(), extended_key_usages=())
    with pytest.raises(x509.ExtensionNotFound):
        cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage)


def test_subject_key_identifier_is_the_keys_and_authority_key_identifier_is_the_issuers_ski(
    crypto_chain, rsa2048_key
):
    cert = _build(crypto_chain, rsa2048_key.public_key())
    ski = cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
    aki = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier)
    issuer_ski = crypto_chain.issuing.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert ski.critical is False
    assert ski.value == x509.SubjectKeyIdentifier.from_public_key(rsa2048_key.public_key())
    assert aki.critical is False
    assert aki.value.key_identifier == issuer_ski.digest
    assert aki.value.authority_cert_issuer is None
    assert aki.value.authority_cert_serial_number is None
    assert cert.issuer == crypto_chain.issuing.subject


def test_crl_distribution_point_and_authority_information_access_carry_the_cas_urls(
    crypto_chain, rsa2048_key
):
    cert = _build(crypto_chain, rsa2048_key.public_key(), ocsp_url="http://pki.example/ocsp")
    cdp = cert.extensions.get_extension_for_class(x509.CRLDistributionPoints)
    assert cdp.critical is False
    assert [point.full_name for point in cdp.value] == [
        [x509.UniformResourceIdentifier("http://pki.example/crl/issuing.crl")]
    ]
    aia = cert.extensions.get_extension_for_class(x509.AuthorityInformationAccess)
    assert aia.critical is False
    assert [(d.access_method, d.access_location.value) for d in aia.value] == [
        (AuthorityInformationAccessOID.OCSP, "http://pki.example/ocsp"),
        (AuthorityInformationAccessOID.CA_ISSUERS, "http://pki.example/ca/issuing.crt"),
    ]


def test_no_distribution_extensions_when_the_ca_has_no_urls(crypto_chain, rsa2048_key):
    cert = _build(crypto_chain, rsa2048_key.public_key(), crl_url="", issuer_url="", ocsp_url="")
    oids = {extension.oid for extension in cert.extensions}
    assert ExtensionOID.CRL_DISTRIBUTION_POINTS not in oids
    assert ExtensionOID.AUTHORITY_INFORMATION_ACCESS not in oids


def test_extensions_of_the_csr_are_not_copied(crypto_chain, rsa2048_key):
    upn = x509.OtherName(OID_UPN, UTF8String("administrator@corp.example").dump())
    csr, _ = make_csr(
        rsa2048_key,
        common_name="device-1",
        extensions=[
            x509.BasicConstraints(ca=True, path_length=None),
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.CLIENT_AUTH, ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE]
            ),
            x509.SubjectAlternativeName([upn]),
        ],
    )
    assert len(csr.extensions) == 3
    cert = _build(crypto_chain, csr.public_key(), subject=csr.subject)
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
    assert list(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value) == [
        ExtendedKeyUsageOID.CLIENT_AUTH
    ]
    assert list(cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value) == [
        x509.DNSName("device-1.corp.example")
    ]
    assert {extension.oid for extension in cert.extensions} == {
        ExtensionOID.BASIC_CONSTRAINTS,
        ExtensionOID.KEY_USAGE,
        ExtensionOID.SUBJECT_KEY_IDENTIFIER,
        ExtensionOID.AUTHORITY_KEY_IDENTIFIER,
        ExtensionOID.EXTENDED_KEY_USAGE,
        ExtensionOID.SUBJECT_ALTERNATIVE_NAME,
        ExtensionOID.CRL_DISTRIBUTION_POINTS,
        ExtensionOID.AUTHORITY_INFORMATION_ACCESS,
    }


def test_subject_alternative_name_is_critical_only_when_the_subject_is_empty(crypto_chain, rsa2048_key):
    with_subject = _build(crypto_chain, rsa2048_key.public_key())
    without_subject = _build(crypto_chain, rsa2048_key.public_key(), subject=x509.Name([]))
    assert with_subject.extensions.get_extension_for_class(x509.SubjectAlternativeName).critical is False
    assert without_subject.extensions.get_extension_for_class(x509.SubjectAlternativeName).critical is True
    assert without_subject.subject == x509.Name([])


def test_no_subject_alternative_name_extension_without_sans(crypto_chain, rsa2048_key):
    cert = _build(crypto_chain, rsa2048_key.public_key(), sans=[])
    with pytest.raises(x509.ExtensionNotFound):
        cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)


def test_refuses_a_certificate_without_subject_and_sans(crypto_chain, rsa2048_key):
    with pytest.raises(ValueError, match="subject or at least one subject alternative name"):
        _build(crypto_chain, rsa2048_key.public_key(), subject=x509.Name([]), sans=[])


def test_sid_extension_only_when_a_sid_is_given(crypto_chain, rsa2048_key):
    with_sid = _build(
        crypto_chain, rsa2048_key.public_key(), sid="S-1-5-21-1004336348-1177238915-682003330-512"
    )
    without_sid = _build(crypto_chain, rsa2048_key.public_key())
    extension = with_sid.extensions.get_extension_for_oid(OID_NTDS_CA_SECURITY_EXT)
    assert extension.critical is False
    assert isinstance(extension.value, x509.UnrecognizedExtension)
    assert b"S-1-5-21-1004336348-1177238915-682003330-512" in extension.value.value
    assert OID_NTDS_CA_SECURITY_EXT not in {e.oid for e in without_sid.extensions}


def test_validity_serial_subject_and_key_are_the_specs(crypto_chain, rsa2048_key):
    cert = _build(crypto_chain, rsa2048_key.public_key())
    assert cert.serial_number == 0x1234
    assert cert.not_valid_before_utc == NOW - dt.timedelta(minutes=5)
    assert cert.not_valid_after_utc == NOW + dt.timedelta(days=365)
    assert cert.subject == SUBJECT
    assert cert.public_key() == rsa2048_key.public_key()
    assert cert.version == x509.Version.v3


@pytest.mark.parametrize(
    ("name", "algorithm"), [("sha256", hashes.SHA256), ("sha384", hashes.SHA384), ("sha512", hashes.SHA512)]
)
def test_signed_with_the_cas_hash_and_the_signature_verifies(crypto_chain, rsa2048_key, name, algorithm):
    cert = _build(crypto_chain, rsa2048_key.public_key(), signature_hash=name)
    assert isinstance(cert.signature_hash_algorithm, algorithm)
    crypto_chain.issuing.public_key().verify(
        cert.signature, cert.tbs_certificate_bytes, padding.PKCS1v15(), cert.signature_hash_algorithm
    )


def test_end_entity_certificate_verifies_with_openssl(crypto_chain, rsa2048_key, tmp_path):
    cert = _build(crypto_chain, rsa2048_key.public_key())
    openssl_verify(tmp_path, cert, crypto_chain.issuing, crypto_chain.root)
    text = openssl_text(cert, tmp_path)
    assert "X509v3 Basic Constraints: critical\n                CA:FALSE" in text
    assert "X509v3 Key Usage: critical\n                Digital Signature, Key Encipherment" in text
    assert "TLS Web Client Authentication" in text
    assert "URI:http://pki.example/crl/issuing.crl" in text
    assert "CA Issuers - URI:http://pki.example/ca/issuing.crt" in text


def test_ec_end_entity_key_is_certified(crypto_chain, tmp_path):
    key = ec.generate_private_key(ec.SECP384R1())
    cert = _build(crypto_chain, key.public_key(), key_usage=KeyUsageSpec(digital_signature=True))
    assert cert.public_key() == key.public_key()
    openssl_verify(tmp_path, cert, crypto_chain.issuing, crypto_chain.root)


def test_root_ca_certificate_is_self_signed_with_ca_extensions(crypto_chain):
    root = crypto_chain.root
    assert root.issuer == root.subject
    basic = root.extensions.get_extension_for_class(x509.BasicConstraints)
    assert basic.critical is True
    assert basic.value == x509.BasicConstraints(ca=True, path_length=1)
    usage = root.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical is True
    assert usage.value.key_cert_sign is True
    assert usage.value.crl_sign is True
    ski = root.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    aki = root.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    assert aki.key_identifier == ski.digest
    oids = {extension.oid for extension in root.extensions}
    assert ExtensionOID.CRL_DISTRIBUTION_POINTS not in oids
    assert ExtensionOID.AUTHORITY_INFORMATION_ACCESS not in oids
    root.verify_directly_issued_by(root)


def test_subordinate_ca_certificate_chains_to_the_root(crypto_chain, tmp_path):
    issuing, root = crypto_chain.issuing, crypto_chain.root
    issuing.verify_directly_issued_by(root)
    assert issuing.extensions.get_extension_for_class(x509.BasicConstraints).value.path_length == 0
    aki = issuing.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    assert (
        aki.key_identifier == root.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
    )
    cdp = issuing.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    assert cdp[0].full_name == [x509.UniformResourceIdentifier("http://pki.example/crl/crypto-root.crl")]
    openssl_verify(tmp_path, issuing, root, purpose="any")


def test_ca_certificate_with_an_ec_key(crypto_chain):
    key = ec.generate_private_key(ec.SECP256R1())
    cert = build_ca_certificate(
        CaCertificateSpec(
            subject=x509.Name.from_rfc4514_string("CN=EC Sub"),
            public_key=key.public_key(),
            serial=3,
            not_before=NOW,
            not_after=NOW + dt.timedelta(days=30),
            issuer_certificate=crypto_chain.root,
            signature_hash="sha384",
        ),
        signing_key=crypto_chain.root_key,
    )
    assert cert.public_key() == key.public_key()
    assert isinstance(cert.signature_hash_algorithm, hashes.SHA384)
    cert.verify_directly_issued_by(crypto_chain.root)


def test_hash_algorithm_is_none_for_edwards_keys_and_named_otherwise(rsa2048_key):
    assert hash_algorithm("sha256", ed25519.Ed25519PrivateKey.generate()) is None
    assert isinstance(hash_algorithm("sha384", rsa2048_key), hashes.SHA384)
    with pytest.raises(KeyError):
        hash_algorithm("md5", rsa2048_key)


def test_authority_key_identifier_falls_back_to_the_issuers_key_without_ski(rsa2048_key, other_rsa2048_key):
    # An issuer certificate without SubjectKeyIdentifier (as some old roots are).
    issuer_name = x509.Name.from_rfc4514_string("CN=Old Root")
    old_root = (
        x509.CertificateBuilder()
        .subject_name(issuer_name)
        .issuer_name(issuer_name)
        .public_key(other_rsa2048_key.public_key())
        .serial_number(9)
        .not_valid_before(NOW)
        .not_valid_after(NOW + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(other_rsa2048_key, hashes.SHA256())
    )
    cert = build_end_entity_certificate(
        _spec(rsa2048_key.public_key()), issuer_certificate=old_root, issuer_key=other_rsa2048_key
    )
    aki = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    assert aki == x509.AuthorityKeyIdentifier.from_issuer_public_key(other_rsa2048_key.public_key())
    cert.verify_directly_issued_by(old_root)
