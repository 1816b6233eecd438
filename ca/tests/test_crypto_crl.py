"""ca.crypto.crl: full CRLs with CRL number, AKI and reason codes, checked by cryptography and openssl."""

from __future__ import annotations

import datetime as dt

import pytest

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from ca.crypto.crl import RevokedEntry, build_crl
from ca.tests.pki import openssl, write_pem

THIS_UPDATE = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)


def _crl(crypto_chain, entries=(), **overrides) -> x509.CertificateRevocationList:
    values = {
        "issuer_certificate": crypto_chain.issuing,
        "issuer_key": crypto_chain.issuing_key,
        "number": 7,
        "this_update": THIS_UPDATE,
        "next_update": THIS_UPDATE + dt.timedelta(days=7),
        "revoked": entries,
    }
    values.update(overrides)
    return build_crl(**values)


def test_empty_crl_names_the_issuer_and_carries_number_and_aki(crypto_chain):
    crl = _crl(crypto_chain)
    assert crl.issuer == crypto_chain.issuing.subject
    assert crl.last_update_utc == THIS_UPDATE
    assert crl.next_update_utc == THIS_UPDATE + dt.timedelta(days=7)
    assert len(crl) == 0
    assert crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number == 7
    aki = crl.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    ski = crypto_chain.issuing.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert aki.key_identifier == ski.digest
    assert crl.is_signature_valid(crypto_chain.issuing.public_key())
    assert not crl.is_signature_valid(crypto_chain.root.public_key())


def test_entries_carry_their_date_and_reason_except_unspecified(crypto_chain):
    revoked_at = THIS_UPDATE - dt.timedelta(hours=1)
    entries = [
        RevokedEntry(serial=0x0A, revoked_at=revoked_at, reason=x509.ReasonFlags.unspecified),
        RevokedEntry(serial=0x0B, revoked_at=revoked_at, reason=x509.ReasonFlags.key_compromise),
        RevokedEntry(serial=0x0C, revoked_at=revoked_at, reason=x509.ReasonFlags.certificate_hold),
    ]
    crl = _crl(crypto_chain, entries)
    assert len(crl) == 3
    unspecified = crl.get_revoked_certificate_by_serial_number(0x0A)
    assert unspecified is not None
    assert unspecified.revocation_date_utc == revoked_at
    assert len(unspecified.extensions) == 0
    compromise = crl.get_revoked_certificate_by_serial_number(0x0B)
    assert compromise is not None
    assert (
        compromise.extensions.get_extension_for_class(x509.CRLReason).value.reason
        == x509.ReasonFlags.key_compromise
    )
    hold = crl.get_revoked_certificate_by_serial_number(0x0C)
    assert hold is not None
    assert (
        hold.extensions.get_extension_for_class(x509.CRLReason).value.reason
        == x509.ReasonFlags.certificate_hold
    )
    assert crl.get_revoked_certificate_by_serial_number(0x0D) is None


@pytest.mark.parametrize(("name", "algorithm"), [("sha256", hashes.SHA256), ("sha512", hashes.SHA512)])
def test_crl_is_signed_with_the_cas_hash(crypto_chain, name, algorithm):
    crl = _crl(crypto_chain, signature_hash=name)
    assert isinstance(crl.signature_hash_algorithm, algorithm)


def test_openssl_verifies_the_crl_and_reads_its_entries(crypto_chain, tmp_path):
    now = dt.datetime.now(tz=dt.UTC).replace(microsecond=0)
    entries = [
        RevokedEntry(
            serial=0x1F2E, revoked_at=now - dt.timedelta(minutes=1), reason=x509.ReasonFlags.superseded
        )
    ]
    crl = _crl(crypto_chain, entries, this_update=now, next_update=now + dt.timedelta(days=1), number=12)
    crl_file = tmp_path / "issuing.crl"
    crl_file.write_bytes(crl.public_bytes(serialization.Encoding.DER))
    chain = write_pem(tmp_path / "chain.pem", crypto_chain.issuing, crypto_chain.root)
    result = openssl("crl", "-inform", "DER", "-in", str(crl_file), "-CAfile", str(chain), "-noout", "-text")
    assert "verify OK" in result.stderr
    assert "X509v3 CRL Number: \n                12" in result.stdout
    assert "Serial Number: 1F2E" in result.stdout
    assert "Superseded" in result.stdout


def test_crl_authority_key_identifier_falls_back_to_the_issuers_key_without_ski(other_rsa2048_key):
    name = x509.Name.from_rfc4514_string("CN=Old Root")
    old_root = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(other_rsa2048_key.public_key())
        .serial_number(9)
        .not_valid_before(THIS_UPDATE)
        .not_valid_after(THIS_UPDATE + dt.timedelta(days=30))
        .sign(other_rsa2048_key, hashes.SHA256())
    )
    crl = build_crl(
        issuer_certificate=old_root,
        issuer_key=other_rsa2048_key,
        number=1,
        this_update=THIS_UPDATE,
        next_update=THIS_UPDATE + dt.timedelta(days=1),
        revoked=[],
    )
    aki = crl.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    assert aki == x509.AuthorityKeyIdentifier.from_issuer_public_key(other_rsa2048_key.public_key())
    assert crl.is_signature_valid(other_rsa2048_key.public_key())
