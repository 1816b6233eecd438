"""Revocation (RA check -> CA task) and CRL publication, checked with cryptography and openssl."""

from __future__ import annotations

import datetime as dt

import pytest

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from django.test import TestCase
from django.utils import timezone

from ca.choices import CertificateStatus, RevocationReason
from ca.crypto.keys import KeySpec
from ca.exceptions import CertificateAlreadyRevoked, PolicyViolation
from ca.models import CertificateAuthority, CertificateRevocationList, IssuedCertificate
from ca.services.authorities import authority_create
from ca.services.revocation import certificate_revoke, crl_generate, crl_refresh
from ca.services.revocation_requests import certificate_revoke_by_admin
from ca.tasks import crl_generate_task, crl_refresh_task
from ca.tests.pki import openssl, write_pem


def _latest_crl(authority) -> x509.CertificateRevocationList:
    return x509.load_der_x509_crl(bytes(authority.crls.latest().der))


def _revoke(certificate: IssuedCertificate, reason: str = "key_compromise") -> IssuedCertificate:
    """An administrator's revocation, with the (eager) CA task run when the request commits."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        certificate_revoke_by_admin(certificate=certificate, reason=reason, requested_by="test", wait=0)
    certificate.refresh_from_db()
    return certificate


def _numbers(authority) -> list[int]:
    return sorted(authority.crls.values_list("number", flat=True))


def test_revocation_marks_the_certificate_and_publishes_a_new_crl(pki, issued):
    assert _numbers(pki.issuing) == [1]
    revoked = _revoke(issued, "key_compromise")
    assert revoked.revoked_at is not None
    assert revoked.revocation_reason == RevocationReason.KEY_COMPROMISE
    assert revoked.status == CertificateStatus.REVOKED
    assert _numbers(pki.issuing) == [1, 2]
    record = pki.issuing.crls.latest()
    assert record.revoked_count == 1
    crl = x509.load_der_x509_crl(bytes(record.der))
    assert crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number == 2
    entry = crl.get_revoked_certificate_by_serial_number(issued.serial_int)
    assert entry is not None
    assert revoked.revoked_at is not None
    assert entry.revocation_date_utc == revoked.revoked_at.replace(microsecond=0)
    assert (
        entry.extensions.get_extension_for_class(x509.CRLReason).value.reason
        == x509.ReasonFlags.key_compromise
    )
    assert _numbers(pki.root) == [1]  # only the issuer's CRL changes


def test_crl_lists_every_revoked_serial_with_its_reason(pki, issue):
    certificates = {}
    for reason in RevocationReason.values:
        certificate = IssuedCertificate.objects.get(request=issue(common_name=f"revoke-{reason}"))
        certificates[reason] = _revoke(certificate, reason)
    crl = _latest_crl(pki.issuing)
    assert len(crl) == len(RevocationReason.values) == 9
    for reason, certificate in certificates.items():
        entry = crl.get_revoked_certificate_by_serial_number(certificate.serial_int)
        assert entry is not None, reason
        if reason == RevocationReason.UNSPECIFIED:
            assert (
                len(entry.extensions) == 0
            )  # RFC 5280 5.3.1: omit the reason code rather than send unspecified
        else:
            assert entry.extensions.get_extension_for_class(x509.CRLReason).value.reason == (
                RevocationReason(reason).reason_flag
            )
    assert pki.issuing.crls.latest().revoked_count == 9


def test_crl_is_signed_by_the_issuing_ca_and_valid_for_its_configured_lifetime(pki, issued):
    _revoke(issued)
    record = pki.issuing.crls.latest()
    crl = x509.load_der_x509_crl(bytes(record.der))
    assert crl.issuer == pki.issuing.certificate.subject
    assert crl.is_signature_valid(pki.issuing.certificate.public_key())
    assert record.next_update - record.this_update == dt.timedelta(hours=pki.issuing.crl_validity_hours)
    assert crl.last_update_utc == record.this_update.replace(microsecond=0)
    assert crl.next_update_utc == record.next_update.replace(microsecond=0)
    aki = crl.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    ski = pki.issuing.certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert aki.key_identifier == ski.digest


def test_openssl_verifies_the_published_crl(pki, issued, tmp_path):
    _revoke(issued, "superseded")
    crl_file = tmp_path / "test-issuing.crl"
    crl_file.write_bytes(bytes(pki.issuing.crls.latest().der))
    result = openssl(
        "crl",
        "-inform",
        "DER",
        "-in",
        str(crl_file),
        "-CAfile",
        str(pki.chain_file(tmp_path)),
        "-noout",
        "-text",
    )
    assert "verify OK" in result.stderr
    assert f"Serial Number: {issued.serial}" in result.stdout
    assert "X509v3 CRL Reason Code: \n                Superseded" in result.stdout
    assert "X509v3 CRL Number: \n                2" in result.stdout


def test_openssl_finds_the_revoked_certificate_in_the_crl(pki, issue, tmp_path):
    revoked = IssuedCertificate.objects.get(request=issue(common_name="revoked"))
    valid = IssuedCertificate.objects.get(request=issue(common_name="valid"))
    _revoke(revoked, "key_compromise")
    crl = write_pem(tmp_path / "crl.pem", _latest_crl(pki.issuing))
    chain = pki.chain_file(tmp_path)

    def verify(certificate: IssuedCertificate):
        leaf = write_pem(tmp_path / f"{certificate.serial}.pem", certificate.certificate)
        return openssl(
            "verify", "-crl_check", "-CRLfile", str(crl), "-CAfile", str(chain), str(leaf), check=False
        )

    refused = verify(revoked)
    assert refused.returncode != 0
    assert "certificate revoked" in refused.stdout + refused.stderr
    accepted = verify(valid)
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr
    assert accepted.stdout.strip().endswith(": OK")


def test_revoking_twice_is_refused(pki, issued):
    first = _revoke(issued)
    with pytest.raises(CertificateAlreadyRevoked) as excinfo:
        _revoke(first, "superseded")
    assert excinfo.value.code == "already_revoked"
    assert excinfo.value.http_status == 409
    issued.refresh_from_db()
    assert issued.revocation_reason == RevocationReason.KEY_COMPROMISE
    assert issued.revoked_at == first.revoked_at
    assert _numbers(pki.issuing) == [1, 2]


@pytest.mark.parametrize("reason", ["compromised", "KEY_COMPROMISE", "remove_from_crl", ""])
def test_unknown_reason_is_refused(pki, issued, reason):
    with pytest.raises(PolicyViolation, match="unknown revocation reason") as excinfo:
        _revoke(issued, reason)
    assert excinfo.value.code == "reason_invalid"
    issued.refresh_from_db()
    assert issued.revoked_at is None
    assert issued.revocation_reason == ""
    assert _numbers(pki.issuing) == [1]


def test_ca_side_revocation_is_idempotent(pki, issued):
    first = certificate_revoke(certificate_id=issued.pk, reason="cessation_of_operation")
    again = certificate_revoke(certificate_id=issued.pk, reason="key_compromise")
    assert again.revoked_at == first.revoked_at
    assert again.revocation_reason == RevocationReason.CESSATION_OF_OPERATION
    assert _numbers(pki.issuing) == [1, 2]


def test_ca_side_revocation_keeps_a_given_revocation_time(pki, issued):
    when = timezone.now().replace(microsecond=0) - dt.timedelta(hours=3)
    certificate_revoke(certificate_id=issued.pk, reason="key_compromise", revoked_at=when)
    issued.refresh_from_db()
    assert issued.revoked_at == when
    entry = _latest_crl(pki.issuing).get_revoked_certificate_by_serial_number(issued.serial_int)
    assert entry is not None
    assert entry.revocation_date_utc == when


def test_expired_revoked_certificates_drop_off_the_crl(pki, issued, time_machine):
    _revoke(issued)
    assert len(_latest_crl(pki.issuing)) == 1
    time_machine.move_to(issued.not_after + dt.timedelta(seconds=1), tick=False)
    record = crl_generate(authority=pki.issuing)
    assert record.revoked_count == 0
    assert len(x509.load_der_x509_crl(bytes(record.der))) == 0


def test_crl_numbers_only_grow(pki):
    numbers = [crl_generate(authority=pki.issuing).number for _ in range(3)]
    assert numbers == [2, 3, 4]
    assert [
        x509.load_der_x509_crl(bytes(record.der))
        .extensions.get_extension_for_class(x509.CRLNumber)
        .value.crl_number
        for record in CertificateRevocationList.objects.filter(authority=pki.issuing).order_by("number")
    ] == [1, 2, 3, 4]


def test_crl_next_update_never_passes_the_cas_not_after(pki):
    short = authority_create(
        name="Short CA",
        slug="short-ca",
        subject=x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Short CA")]),
        key_spec=KeySpec("EC", 256),
        validity_days=2,
        parent=pki.root,
    )
    record = crl_generate(authority=short)
    assert record.next_update == short.not_after
    public_key = short.certificate.public_key()
    assert isinstance(public_key, ec.EllipticCurvePublicKey)
    assert x509.load_der_x509_crl(bytes(record.der)).is_signature_valid(public_key)


def test_crl_of_an_expired_ca_is_valid_for_an_hour(pki, time_machine):
    time_machine.move_to(pki.issuing.not_after + dt.timedelta(days=1), tick=False)
    record = crl_generate(authority=pki.issuing)
    assert record.next_update - record.this_update == dt.timedelta(hours=1)


def test_crl_generate_task_returns_the_new_number(pki):
    assert crl_generate_task.delay({"authority_id": pki.issuing.pk}).get() == 2
    assert _numbers(pki.issuing) == [1, 2]


# --- crl_refresh: a new CRL once the latest one is half way through its lifetime ---------------------


def _half_life(authority: CertificateAuthority) -> dt.datetime:
    latest = authority.crls.latest()
    return latest.this_update + (latest.next_update - latest.this_update) / 2


def test_refresh_publishes_nothing_while_the_crls_are_fresh(pki):
    assert crl_refresh() == []
    assert _numbers(pki.root) == [1]
    assert _numbers(pki.issuing) == [1]


def test_refresh_publishes_nothing_just_before_half_the_lifetime(pki, time_machine):
    time_machine.move_to(_half_life(pki.issuing) - dt.timedelta(seconds=1), tick=False)
    assert crl_refresh() == []
    assert _numbers(pki.issuing) == [1]


def test_refresh_publishes_at_half_the_lifetime(pki, time_machine):
    half = max(_half_life(pki.issuing), _half_life(pki.root))
    time_machine.move_to(half, tick=False)
    published = crl_refresh()
    assert sorted((crl.authority.slug, crl.number) for crl in published) == [
        ("test-issuing", 2),
        ("test-root", 2),
    ]
    latest = pki.issuing.crls.latest()
    assert latest.this_update == half
    assert crl_refresh() == []  # the new CRLs are fresh


def test_refresh_publishes_a_first_crl_for_a_ca_without_one(pki):
    CertificateRevocationList.objects.filter(authority=pki.issuing).delete()
    published = crl_refresh()
    assert [(crl.authority_id, crl.number) for crl in published] == [(pki.issuing.pk, 1)]


def test_refresh_skips_disabled_and_expired_cas(pki, time_machine):
    pki.root.enabled = False
    pki.root.save()
    time_machine.move_to(pki.issuing.not_after + dt.timedelta(seconds=1), tick=False)
    assert crl_refresh() == []
    assert _numbers(pki.root) == [1]
    assert _numbers(pki.issuing) == [1]


def test_refresh_task_returns_the_new_crl_ids(pki, time_machine):
    time_machine.move_to(max(_half_life(pki.issuing), _half_life(pki.root)), tick=False)
    ids = crl_refresh_task.delay().get()
    assert sorted(ids) == sorted(
        CertificateRevocationList.objects.filter(number=2).values_list("pk", flat=True)
    )
    assert len(ids) == 2


def test_revoked_certificate_serial_is_what_the_crl_and_openssl_show(pki, issued, tmp_path):
    _revoke(issued, "affiliation_changed")
    text = openssl(
        "crl", "-in", str(write_pem(tmp_path / "crl.pem", _latest_crl(pki.issuing))), "-noout", "-text"
    ).stdout
    assert f"Serial Number: {issued.serial}" in text
    assert "Affiliation Changed" in text
