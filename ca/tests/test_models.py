"""Models, querysets, selectors and choices of the CA."""

from __future__ import annotations

import datetime as dt

import pytest

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.test import TestCase
from django.utils import timezone

from ca.choices import CertificateRequestStatus, CertificateStatus, RevocationReason, TemplatePurpose
from ca.models import CertificateRequest, CertificateTemplate, IssuedCertificate
from ca.selectors import crl_get_latest
from ca.services.revocation_requests import certificate_revoke_by_admin


def test_authority_chain_and_root(pki):
    assert pki.root.is_root is True
    assert pki.issuing.is_root is False
    assert pki.issuing.chain() == [pki.issuing, pki.root]
    assert pki.root.chain() == [pki.root]
    assert pki.issuing.root() == pki.root
    assert str(pki.issuing) == "Test Issuing CA"


def test_authority_certificate_accessors(pki):
    assert pki.issuing.certificate_der == pki.issuing.certificate.public_bytes(serialization.Encoding.DER)
    assert int(pki.issuing.serial, 16) == pki.issuing.certificate.serial_number
    assert pki.issuing.not_after == pki.issuing.certificate.not_valid_after_utc
    now = timezone.now()
    assert pki.issuing.remaining_validity(now) == pki.issuing.not_after - now


def test_certificate_status_follows_revocation_and_time(issued, time_machine):
    assert issued.status == CertificateStatus.ISSUED
    time_machine.move_to(issued.not_after, tick=False)
    assert issued.status == CertificateStatus.EXPIRED
    issued.revoked_at = timezone.now()
    issued.revocation_reason = RevocationReason.SUPERSEDED
    assert issued.status == CertificateStatus.REVOKED


def test_certificate_pem_and_serial(issued):
    assert x509.load_pem_x509_certificate(issued.pem.encode()) == issued.certificate
    assert issued.serial_int == issued.certificate.serial_number
    assert str(issued) == f"CN=issued-1 ({issued.serial})"


def test_revocation_needs_both_time_and_reason(issued):
    issued.revoked_at = timezone.now()
    with pytest.raises(IntegrityError), transaction.atomic():
        issued.save()
    issued.refresh_from_db()
    issued.revocation_reason = RevocationReason.SUPERSEDED
    with pytest.raises(IntegrityError), transaction.atomic():
        issued.save()


def test_request_properties(pki, issue):
    request = issue(common_name="props", sans=[x509.DNSName("props.corp.example")])
    assert request.subject_name == x509.Name.from_rfc4514_string("CN=props")
    assert request.subject_alternative_names == [x509.DNSName("props.corp.example")]
    assert request.is_terminal is True
    assert str(request) == f"request {request.pk} (CN=props, issued)"


def test_terminal_request_statuses():
    assert CertificateRequestStatus.terminal() == {"issued", "denied", "failed"}


def test_querysets_by_status(pki, issue, time_machine):
    pki.template.validity_days = 1
    pki.template.save()
    short = IssuedCertificate.objects.get(request=issue(common_name="short"))
    pki.template.validity_days = 365
    pki.template.save()
    valid = IssuedCertificate.objects.get(request=issue(common_name="valid"))
    revoked = IssuedCertificate.objects.get(request=issue(common_name="revoked"))
    with TestCase.captureOnCommitCallbacks(execute=True):
        certificate_revoke_by_admin(certificate=revoked, reason="key_compromise", requested_by="test", wait=0)
    later = short.not_after + dt.timedelta(seconds=1)
    assert set(IssuedCertificate.objects.valid()) == {short, valid}
    assert set(IssuedCertificate.objects.valid(now=later)) == {valid}
    assert set(IssuedCertificate.objects.expired(now=later)) == {short}
    assert set(IssuedCertificate.objects.revoked()) == {revoked}
    assert set(IssuedCertificate.objects.with_status("nonsense")) == set()
    assert set(IssuedCertificate.objects.for_crl(authority_id=pki.issuing.pk)) == {revoked}
    assert set(IssuedCertificate.objects.for_crl(authority_id=pki.root.pk)) == set()
    assert set(IssuedCertificate.objects.for_crl(authority_id=pki.issuing.pk, now=revoked.not_after)) == set()


def test_pending_requests(pki, issue):
    issued = issue(common_name="issued")
    pki.template.requires_approval = True
    pki.template.save()
    pending = issue(common_name="pending")
    assert list(CertificateRequest.objects.pending()) == [pending]
    assert issued.status == CertificateRequestStatus.ISSUED


def test_latest_crl_and_its_currency(pki, time_machine):
    latest = crl_get_latest(authority=pki.issuing)
    assert latest is not None
    assert latest.number == 1
    assert latest.is_current is True
    assert str(latest) == "CRL #1 of Test Issuing CA"
    time_machine.move_to(latest.next_update, tick=False)
    assert latest.is_current is False


def _template(**fields) -> CertificateTemplate:
    return CertificateTemplate(name="t", display_name="T", **fields)


def test_default_template_is_valid():
    _template().clean()
    assert _template().application_policies == ["1.3.6.1.5.5.7.3.2"]
    assert _template().allowed_signature_hashes == ["sha256", "sha384", "sha512"]


@pytest.mark.parametrize(
    ("fields", "errors"),
    [
        (
            {"application_policies": ["1.2.3", "2.5.x"]},
            {"application_policies": ["'2.5.x' is not a dotted OID."]},
        ),
        ({"application_policies": ["3.1"]}, {"application_policies": ["'3.1' is not a dotted OID."]}),
        ({"application_policies": ["1.02.3"]}, {"application_policies": ["'1.02.3' is not a dotted OID."]}),
        ({"application_policies": "1.2.3"}, {"application_policies": ["Enter a list of OIDs."]}),
        (
            {"application_policies": ["1.2.3", "1.2.3"]},
            {"application_policies": ["Each OID may appear once."]},
        ),
        (
            {"allowed_signature_hashes": []},
            {"allowed_signature_hashes": ["Choose one or more of sha256, sha384, sha512."]},
        ),
        (
            {"allowed_signature_hashes": ["sha1"]},
            {"allowed_signature_hashes": ["Choose one or more of sha256, sha384, sha512."]},
        ),
        (
            {"digital_signature": False, "key_encipherment": False},
            {"digital_signature": ["Choose digital signature, key encipherment, or both."]},
        ),
        (
            {"purpose": TemplatePurpose.SIGNATURE, "digital_signature": False},
            {"digital_signature": ["A signature template needs digital signature."]},
        ),
        (
            {"purpose": TemplatePurpose.ENCRYPTION, "key_encipherment": False},
            {"key_encipherment": ["An encryption template needs key encipherment."]},
        ),
    ],
)
def test_template_rules(fields, errors):
    with pytest.raises(ValidationError) as excinfo:
        _template(**fields).clean()
    assert excinfo.value.message_dict == errors


def test_empty_application_policies_are_allowed():
    _template(application_policies=[]).clean()


@pytest.mark.parametrize(
    ("purpose", "value"),
    [
        (TemplatePurpose.SIGNATURE, "SignatureTemplate"),
        (TemplatePurpose.ENCRYPTION, "EncryptionTemplate"),
        (TemplatePurpose.SIGNATURE_AND_ENCRYPTION, "GeneralPurposeTemplate"),
    ],
)
def test_ndes_registry_values(purpose, value):
    assert purpose.ndes_registry_value == value


def test_every_revocation_reason_maps_to_its_rfc_5280_flag():
    assert {reason.value: reason.reason_flag for reason in RevocationReason} == {
        "unspecified": x509.ReasonFlags.unspecified,
        "key_compromise": x509.ReasonFlags.key_compromise,
        "ca_compromise": x509.ReasonFlags.ca_compromise,
        "affiliation_changed": x509.ReasonFlags.affiliation_changed,
        "superseded": x509.ReasonFlags.superseded,
        "cessation_of_operation": x509.ReasonFlags.cessation_of_operation,
        "certificate_hold": x509.ReasonFlags.certificate_hold,
        "privilege_withdrawn": x509.ReasonFlags.privilege_withdrawn,
        "aa_compromise": x509.ReasonFlags.aa_compromise,
    }
