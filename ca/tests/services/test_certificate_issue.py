"""certificate_request_submit (RA policy) -> certificate_issue_task -> certificate_issue (CA signing)."""

from __future__ import annotations

import datetime as dt

import pytest

from asn1crypto import x509 as asn1x509
from asn1crypto.core import OctetString, UTF8String
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID, NameOID

from django.utils import timezone

from ca.choices import CertificateRequestStatus, TemplatePurpose
from ca.constants import OID_NTDS_CA_SECURITY_EXT
from ca.crypto.identities import OID_UPN
from ca.crypto.keys import KeySpec, spki_sha256
from ca.exceptions import AuthorityUnavailable, PolicyViolation, RequestNotPending
from ca.models import CertificateRequest, CertificateTemplate, IssuedCertificate
from ca.services.authorities import authority_create
from ca.services.issuance import certificate_issue
from ca.services.submission import (
    RequestedKeyUsage,
    certificate_request_approve,
    certificate_request_deny,
    certificate_request_submit,
)
from ca.tests.pki import make_csr, openssl, openssl_verify, write_pem

SID = "S-1-5-21-1004336348-1177238915-682003330-1105"


def _cn(value: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, value)])


def _assert_refused(excinfo, code: str) -> None:
    assert excinfo.value.code == code, excinfo.value.message
    assert IssuedCertificate.objects.count() == 0
    assert CertificateRequest.objects.count() == 0


def _certificate(request: CertificateRequest) -> x509.Certificate:
    assert request.status == CertificateRequestStatus.ISSUED, request.failure_reason
    return IssuedCertificate.objects.get(request=request).certificate


def _update(template: CertificateTemplate, **fields) -> CertificateTemplate:
    for name, value in fields.items():
        setattr(template, name, value)
    template.full_clean()
    template.save()
    return template


@pytest.fixture
def frozen_now(time_machine) -> dt.datetime:
    """A whole-second instant one day ahead (certificates keep seconds only), time stopped there."""
    instant = timezone.now().replace(microsecond=0) + dt.timedelta(days=1)
    time_machine.move_to(instant, tick=False)
    return instant


def test_issued_certificate_verifies_with_openssl_against_the_chain(
    pki, tmp_path, django_capture_on_commit_callbacks
):
    csr, _ = make_csr(common_name="laptop-42")
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "laptop-42")])
    with django_capture_on_commit_callbacks(execute=True):
        request = certificate_request_submit(
            authority=pki.issuing,
            template=pki.template,
            csr=csr,
            subject=subject,
            sans=[x509.DNSName("laptop-42.corp.example")],
            requester="test",
        )
    request.refresh_from_db()
    assert request.status == CertificateRequestStatus.ISSUED
    issued = IssuedCertificate.objects.get(request=request)
    cert = issued.certificate
    assert cert.subject == subject
    assert cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value == x509.ExtendedKeyUsage(
        [ExtendedKeyUsageOID.CLIENT_AUTH]
    )
    chain = write_pem(tmp_path / "chain.pem", pki.issuing.certificate, pki.root.certificate)
    leaf = write_pem(tmp_path / "leaf.pem", cert)
    result = openssl("verify", "-CAfile", str(chain), "-purpose", "sslclient", str(leaf))
    assert result.stdout.strip().endswith(": OK")


def test_issued_row_records_the_certificate(issue, rsa2048_key, tmp_path):
    upn = x509.OtherName(OID_UPN, UTF8String("device-1@corp.example").dump())
    request = issue(sans=[x509.DNSName("device-1.corp.example"), upn])
    issued = IssuedCertificate.objects.get(request=request)
    cert = issued.certificate
    assert issued.authority == request.authority
    assert issued.template == request.template
    assert issued.serial_int == cert.serial_number
    assert issued.subject == "CN=device-1"
    assert issued.sans == ["DNS:device-1.corp.example", "UPN:device-1@corp.example"]
    assert issued.fingerprint_sha256 == cert.fingerprint(hashes.SHA256()).hex().upper()
    assert issued.fingerprint_sha1 == cert.fingerprint(hashes.SHA1()).hex().upper()  # noqa: S303
    assert issued.public_key_sha256 == spki_sha256(rsa2048_key.public_key()) == request.public_key_sha256
    assert (issued.not_before, issued.not_after) == (cert.not_valid_before_utc, cert.not_valid_after_utc)
    assert issued.status == "issued"
    # The serial as Windows and openssl show it.
    serial = openssl("x509", "-noout", "-serial", "-in", str(write_pem(tmp_path / "leaf.pem", cert))).stdout
    assert serial.strip() == f"serial={issued.serial}"


def test_extensions_come_from_the_template_and_the_issuing_ca(issue, pki, rsa2048_key):
    cert = _certificate(issue())
    basic = cert.extensions.get_extension_for_class(x509.BasicConstraints)
    assert (basic.critical, basic.value.ca) == (True, False)
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical is True
    assert (usage.value.digital_signature, usage.value.key_encipherment, usage.value.content_commitment) == (
        True,
        True,
        False,
    )
    aki = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    issuer_ski = pki.issuing.certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert aki.key_identifier == issuer_ski.digest
    ski = cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert ski == x509.SubjectKeyIdentifier.from_public_key(rsa2048_key.public_key())
    cdp = cert.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    assert pki.issuing.crl_url == "http://127.0.0.1:8000/crl/test-issuing.crl"
    assert [p.full_name for p in cdp] == [[x509.UniformResourceIdentifier(pki.issuing.crl_url)]]
    aia = cert.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    assert pki.issuing.issuer_url == "http://127.0.0.1:8000/ca/test-issuing.crt"
    assert [(d.access_method, d.access_location.value) for d in aia] == [
        (AuthorityInformationAccessOID.OCSP, pki.issuing.ocsp_url),
        (AuthorityInformationAccessOID.CA_ISSUERS, pki.issuing.issuer_url),
    ]
    assert pki.issuing.ocsp_url == "http://127.0.0.1:8000/ocsp/test-issuing"
    assert cert.issuer == pki.issuing.certificate.subject
    cert.verify_directly_issued_by(pki.issuing.certificate)


def test_ocsp_url_of_the_ca_goes_into_authority_information_access(issue, pki):
    pki.issuing.ocsp_url = "http://ocsp.corp.example/"
    pki.issuing.save()
    cert = _certificate(issue())
    aia = cert.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    assert [(d.access_method, d.access_location.value) for d in aia] == [
        (AuthorityInformationAccessOID.OCSP, "http://ocsp.corp.example/"),
        (AuthorityInformationAccessOID.CA_ISSUERS, pki.issuing.issuer_url),
    ]


def test_extensions_requested_in_the_csr_are_ignored(issue, pki, rsa2048_key, tmp_path):
    upn = x509.OtherName(OID_UPN, UTF8String("administrator@corp.example").dump())
    csr, _ = make_csr(
        rsa2048_key,
        subject=x509.Name.from_rfc4514_string("CN=administrator,O=Evil"),
        extensions=[
            x509.BasicConstraints(ca=True, path_length=None),
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE, ExtendedKeyUsageOID.CODE_SIGNING]
            ),
            x509.SubjectAlternativeName([upn, x509.DNSName("dc01.corp.example")]),
        ],
    )
    request = issue(csr, subject=_cn("device-9"), sans=[x509.DNSName("device-9.corp.example")])
    cert = _certificate(request)
    assert cert.subject == _cn("device-9")
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
    assert list(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value) == [
        ExtendedKeyUsageOID.CLIENT_AUTH
    ]
    assert list(cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value) == [
        x509.DNSName("device-9.corp.example")
    ]
    openssl_verify(tmp_path, cert, pki.issuing.certificate, pki.root.certificate)
    # openssl agrees the certificate is no CA: it cannot sign another certificate.
    assert (
        "CA:FALSE"
        in openssl(
            "x509", "-noout", "-ext", "basicConstraints", "-in", str(write_pem(tmp_path / "leaf.pem", cert))
        ).stdout
    )


def test_certificate_with_only_subject_alternative_names(issue, pki, tmp_path):
    cert = _certificate(issue(subject=x509.Name([]), sans=[x509.DNSName("printer.corp.example")]))
    assert cert.subject == x509.Name([])
    assert cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).critical is True
    openssl_verify(tmp_path, cert, pki.issuing.certificate, pki.root.certificate)


def test_request_without_subject_and_sans_is_refused(issue):
    with pytest.raises(PolicyViolation) as excinfo:
        issue(subject=x509.Name([]))
    _assert_refused(excinfo, "name_missing")


# --- Validity -----------------------------------------------------------------------------------------


def test_validity_is_the_templates_period(issue, pki, frozen_now):
    cert = _certificate(issue())
    assert cert.not_valid_before_utc == frozen_now - dt.timedelta(minutes=5)
    assert cert.not_valid_after_utc == frozen_now + dt.timedelta(days=365)


def test_validity_follows_a_changed_template(issue, pki, frozen_now):
    _update(pki.template, validity_days=30)
    assert _certificate(issue()).not_valid_after_utc == frozen_now + dt.timedelta(days=30)


def test_requester_validity_is_honoured_when_the_template_allows_it(issue, pki, frozen_now):
    _update(pki.template, allow_requester_validity=True)
    request = issue(validity_days=7)
    assert request.validity_days == 7
    assert _certificate(request).not_valid_after_utc == frozen_now + dt.timedelta(days=7)


def test_requester_validity_equal_to_the_templates_is_accepted(issue, pki, frozen_now):
    _update(pki.template, allow_requester_validity=True)
    assert _certificate(issue(validity_days=365)).not_valid_after_utc == frozen_now + dt.timedelta(days=365)


def test_requester_validity_is_refused_when_the_template_does_not_allow_it(issue):
    with pytest.raises(PolicyViolation, match="does not let the requester choose the validity") as excinfo:
        issue(validity_days=7)
    _assert_refused(excinfo, "validity_not_allowed")


@pytest.mark.parametrize("days", [366, 3650, 0, -1])
def test_requester_validity_outside_the_templates_period_is_refused(issue, pki, days):
    _update(pki.template, allow_requester_validity=True)
    with pytest.raises(PolicyViolation, match=r"outside 1\.\.365") as excinfo:
        issue(validity_days=days)
    _assert_refused(excinfo, "validity_too_long")


def test_validity_is_capped_at_the_issuing_cas_not_after(pki, issue, tmp_path):
    short = authority_create(
        name="Short CA",
        slug="short-ca",
        subject=_cn("Short CA"),
        key_spec=KeySpec("EC", 256),
        validity_days=10,
        parent=pki.root,
        path_length=0,
    )
    short.published_templates.add(pki.template)
    cert = _certificate(issue(authority=short))
    assert cert.not_valid_after_utc == short.not_after
    assert short.not_after < timezone.now() + dt.timedelta(days=11)
    openssl_verify(tmp_path, cert, short.certificate, pki.root.certificate)


def test_expired_issuing_ca_refuses_requests(issue, pki, time_machine):
    time_machine.move_to(pki.issuing.not_after + dt.timedelta(seconds=1), tick=False)
    with pytest.raises(AuthorityUnavailable) as excinfo:
        issue()
    _assert_refused(excinfo, "authority_expired")


# --- Application policies, key usage ------------------------------------------------------------------


def test_extended_key_usages_are_the_templates_application_policies(issue, pki):
    oids = ["1.3.6.1.5.5.7.3.2", "1.3.6.1.5.5.7.3.1", "1.3.6.1.4.1.311.20.2.2", "1.3.6.1.4.1.99999.1.2"]
    _update(pki.template, application_policies=oids)
    eku = _certificate(issue()).extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    assert eku.critical is False
    assert [oid.dotted_string for oid in eku.value] == oids


def test_requested_key_usage_and_ekus_are_narrowed_to_the_templates(
    pki, rsa2048_key, django_capture_on_commit_callbacks
):
    """A requester (a SCEP profile) asking for less than the template allows gets exactly what it asked."""
    _update(pki.template, application_policies=["1.3.6.1.5.5.7.3.2", "1.3.6.1.5.5.7.3.1"])
    with django_capture_on_commit_callbacks(execute=True):
        request = certificate_request_submit(
            authority=pki.issuing,
            template=pki.template,
            csr=make_csr(rsa2048_key, common_name="narrow")[0],
            subject=_cn("narrow"),
            requester="test",
            key_usage=RequestedKeyUsage(digital_signature=True, key_encipherment=False),
            extended_key_usages=["1.3.6.1.5.5.7.3.2"],
        )
    request.refresh_from_db()
    certificate = _certificate(request)
    usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    assert (usage.digital_signature, usage.key_encipherment) == (True, False)
    eku = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert [oid.dotted_string for oid in eku] == ["1.3.6.1.5.5.7.3.2"]


def test_asking_for_more_than_the_template_allows_is_refused(pki, rsa2048_key):
    with pytest.raises(PolicyViolation) as excinfo:
        certificate_request_submit(
            authority=pki.issuing,
            template=pki.template,
            csr=make_csr(rsa2048_key, common_name="wide")[0],
            subject=_cn("wide"),
            requester="test",
            extended_key_usages=["1.3.6.1.5.5.7.3.2", "1.3.6.1.5.5.7.3.1"],
        )
    _assert_refused(excinfo, "extended_key_usage_not_allowed")
    _update(pki.template, key_encipherment=False)
    with pytest.raises(PolicyViolation) as excinfo:
        certificate_request_submit(
            authority=pki.issuing,
            template=pki.template,
            csr=make_csr(rsa2048_key, common_name="wide")[0],
            subject=_cn("wide"),
            requester="test",
            key_usage=RequestedKeyUsage(digital_signature=False, key_encipherment=True),
        )
    _assert_refused(excinfo, "key_usage_not_allowed")


def test_template_without_application_policies_issues_without_extended_key_usage(issue, pki):
    _update(pki.template, application_policies=[])
    with pytest.raises(x509.ExtensionNotFound):
        _certificate(issue()).extensions.get_extension_for_class(x509.ExtendedKeyUsage)


@pytest.mark.parametrize("non_repudiation", [True, False])
def test_non_repudiation_bit_follows_the_template(issue, pki, non_repudiation):
    _update(pki.template, non_repudiation=non_repudiation)
    usage = _certificate(issue()).extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.content_commitment is non_repudiation


def test_signature_template_issues_digital_signature_only(issue, pki):
    _update(pki.template, purpose=TemplatePurpose.SIGNATURE, key_encipherment=False)
    usage = _certificate(issue()).extensions.get_extension_for_class(x509.KeyUsage).value
    assert (usage.digital_signature, usage.key_encipherment, usage.content_commitment) == (True, False, False)


def test_encryption_template_issues_key_encipherment_only(issue, pki):
    _update(pki.template, purpose=TemplatePurpose.ENCRYPTION, digital_signature=False)
    usage = _certificate(issue()).extensions.get_extension_for_class(x509.KeyUsage).value
    assert (usage.digital_signature, usage.key_encipherment) == (False, True)


def test_ec_key_gets_no_key_encipherment(issue):
    usage = (
        _certificate(issue(key=ec.generate_private_key(ec.SECP256R1())))
        .extensions.get_extension_for_class(x509.KeyUsage)
        .value
    )
    assert usage.digital_signature is True
    assert usage.key_encipherment is False


# --- Keys and signature hashes ------------------------------------------------------------------------


def test_rsa_key_below_the_templates_minimum_is_refused(issue, pki):
    _update(pki.template, min_rsa_key_size=3072)
    with pytest.raises(PolicyViolation, match="2048 bits is below the minimum of 3072") as excinfo:
        issue()
    _assert_refused(excinfo, "key_too_small")


def test_rsa_key_at_the_templates_minimum_is_issued(issue, pki, tmp_path):
    _update(pki.template, min_rsa_key_size=3072)
    cert = _certificate(issue(key=rsa.generate_private_key(public_exponent=65537, key_size=3072)))
    public_key = cert.public_key()
    assert isinstance(public_key, rsa.RSAPublicKey)
    assert public_key.key_size == 3072
    openssl_verify(tmp_path, cert, pki.issuing.certificate, pki.root.certificate)


def test_rsa_1024_is_refused_by_the_default_template(issue):
    with pytest.raises(PolicyViolation) as excinfo:
        issue(key=rsa.generate_private_key(public_exponent=65537, key_size=1024))  # noqa: S505 - the refused key
    _assert_refused(excinfo, "key_too_small")


def test_ec_key_below_the_templates_minimum_is_refused(issue, pki):
    _update(pki.template, min_ec_key_size=384)
    with pytest.raises(PolicyViolation) as excinfo:
        issue(key=ec.generate_private_key(ec.SECP256R1()))
    _assert_refused(excinfo, "key_too_small")


def test_ec_key_at_the_templates_minimum_is_issued(issue, pki, tmp_path):
    _update(pki.template, min_ec_key_size=384)
    key = ec.generate_private_key(ec.SECP384R1())
    cert = _certificate(issue(key=key))
    assert cert.public_key() == key.public_key()
    openssl_verify(tmp_path, cert, pki.issuing.certificate, pki.root.certificate)


@pytest.mark.parametrize(
    "key",
    [lambda: ec.generate_private_key(ec.SECP256K1()), ed25519.Ed25519PrivateKey.generate],
    ids=["secp256k1", "ed25519"],
)
def test_unsupported_key_types_are_refused(issue, key):
    with pytest.raises(PolicyViolation) as excinfo:
        issue(key=key())
    _assert_refused(excinfo, "key_type_unsupported")


def test_signature_hash_outside_the_templates_list_is_refused(issue, pki):
    _update(pki.template, allowed_signature_hashes=["sha256"])
    with pytest.raises(
        PolicyViolation, match="signed with sha384; template TestClientAuth allows sha256"
    ) as excinfo:
        issue(digest=hashes.SHA384())
    _assert_refused(excinfo, "signature_hash_not_allowed")


def test_signature_hash_in_the_templates_list_is_issued(issue, pki):
    _update(pki.template, allowed_signature_hashes=["sha384"])
    assert issue(digest=hashes.SHA384()).status == CertificateRequestStatus.ISSUED


def test_sha1_signed_request_is_refused_as_hash_not_allowed(issue, rsa2048_key, tmp_path):
    key_file = tmp_path / "key.pem"
    key_file.write_bytes(
        rsa2048_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    csr_file = tmp_path / "sha1.der"
    openssl(
        "req",
        "-new",
        "-key",
        str(key_file),
        "-subj",
        "/CN=device-1",
        "-sha1",
        "-outform",
        "DER",
        "-out",
        str(csr_file),
    )
    with pytest.raises(PolicyViolation) as excinfo:
        issue(csr_file.read_bytes())
    _assert_refused(excinfo, "signature_hash_not_allowed")


def test_malformed_csr_bytes_are_refused(issue):
    with pytest.raises(PolicyViolation) as excinfo:
        issue(b"-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n")
    _assert_refused(excinfo, "csr_malformed")


def test_tampered_csr_bytes_are_refused(issue, rsa2048_key):
    der = make_csr(rsa2048_key)[0].public_bytes(serialization.Encoding.DER)
    with pytest.raises(PolicyViolation) as excinfo:
        issue(der[:-1] + bytes([der[-1] ^ 1]))
    _assert_refused(excinfo, "csr_signature_invalid")


def test_tampered_csr_object_is_refused(issue, rsa2048_key):
    der = make_csr(rsa2048_key)[0].public_bytes(serialization.Encoding.DER)
    with pytest.raises(PolicyViolation) as excinfo:
        issue(x509.load_der_x509_csr(der[:-1] + bytes([der[-1] ^ 1])))
    _assert_refused(excinfo, "csr_signature_invalid")


# --- Template and CA state ----------------------------------------------------------------------------


def test_template_not_published_to_the_ca_is_refused(issue, pki):
    other = CertificateTemplate(name="NotPublished", display_name="Not published")
    other.full_clean()
    other.save()
    with pytest.raises(PolicyViolation, match="does not issue certificate template NotPublished") as excinfo:
        issue(template=other)
    _assert_refused(excinfo, "template_not_published")


def test_template_published_to_another_ca_only_is_refused(issue, pki):
    with pytest.raises(PolicyViolation) as excinfo:
        issue(authority=pki.root)
    _assert_refused(excinfo, "template_not_published")


def test_disabled_template_is_refused(issue, pki):
    _update(pki.template, enabled=False)
    with pytest.raises(PolicyViolation) as excinfo:
        issue()
    _assert_refused(excinfo, "template_disabled")


def test_disabled_ca_is_refused(issue, pki):
    pki.issuing.enabled = False
    pki.issuing.save()
    with pytest.raises(AuthorityUnavailable) as excinfo:
        issue()
    _assert_refused(excinfo, "authority_disabled")
    assert excinfo.value.http_status == 409


def test_ca_disabled_after_submission_fails_the_request(pki, rsa2048_key):
    request = certificate_request_submit(
        authority=pki.issuing,
        template=pki.template,
        csr=make_csr(rsa2048_key)[0],
        subject=_cn("late"),
        requester="test",
    )  # not dispatched: the on-commit callback is discarded with the test transaction
    pki.issuing.enabled = False
    pki.issuing.save()
    assert certificate_issue(request_id=request.pk) is None
    request.refresh_from_db()
    assert request.status == CertificateRequestStatus.FAILED
    assert request.failure_reason == "CA Test Issuing CA is disabled"
    assert IssuedCertificate.objects.count() == 0


def test_ca_expired_after_submission_fails_the_request(pki, rsa2048_key, time_machine):
    request = certificate_request_submit(
        authority=pki.issuing,
        template=pki.template,
        csr=make_csr(rsa2048_key)[0],
        subject=_cn("late"),
        requester="test",
    )
    time_machine.move_to(pki.issuing.not_after, tick=False)
    assert certificate_issue(request_id=request.pk) is None
    request.refresh_from_db()
    assert request.status == CertificateRequestStatus.FAILED
    assert request.failure_reason == "CA Test Issuing CA has expired"
    assert IssuedCertificate.objects.count() == 0


# --- Approval -----------------------------------------------------------------------------------------


@pytest.fixture
def pending(issue, pki):
    _update(pki.template, requires_approval=True)
    request = issue()
    assert request.status == CertificateRequestStatus.PENDING_APPROVAL
    return request


def test_request_needing_approval_waits_without_a_certificate(pending):
    assert pending.task_id == ""
    assert IssuedCertificate.objects.count() == 0
    with pytest.raises(RequestNotPending):
        certificate_issue(request_id=pending.pk)
    assert IssuedCertificate.objects.count() == 0


def test_approved_request_is_issued(pending, pki, tmp_path, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        certificate_request_approve(request=pending, actor="admin:alice")
    assert len(callbacks) == 1
    pending.refresh_from_db()
    assert pending.status == CertificateRequestStatus.ISSUED
    assert pending.decided_by == "admin:alice"
    assert pending.decided_at is not None
    assert pending.task_id
    cert = _certificate(pending)
    openssl_verify(tmp_path, cert, pki.issuing.certificate, pki.root.certificate)


def test_approving_twice_is_refused(pending, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        certificate_request_approve(request=pending, actor="admin:alice")
    with pytest.raises(RequestNotPending) as excinfo:
        certificate_request_approve(request=pending, actor="admin:bob")
    assert excinfo.value.code == "request_not_pending"
    assert excinfo.value.http_status == 409
    assert IssuedCertificate.objects.count() == 1
    pending.refresh_from_db()
    assert pending.decided_by == "admin:alice"


def test_denied_request_is_never_issued(pending):
    certificate_request_deny(request=pending, actor="admin:alice", reason="unknown device")
    pending.refresh_from_db()
    assert pending.status == CertificateRequestStatus.DENIED
    assert pending.failure_reason == "unknown device"
    assert pending.decided_by == "admin:alice"
    with pytest.raises(RequestNotPending):
        certificate_request_approve(request=pending, actor="admin:bob")
    with pytest.raises(RequestNotPending):
        certificate_request_deny(request=pending, actor="admin:bob")
    with pytest.raises(RequestNotPending):
        certificate_issue(request_id=pending.pk)
    assert IssuedCertificate.objects.count() == 0


def test_deny_without_a_reason_records_a_default_reason(pending):
    denied = certificate_request_deny(request=pending, actor="admin:alice")
    assert denied.failure_reason == "denied by a CA certificate manager"


# --- Idempotency, SID ---------------------------------------------------------------------------------


def test_issuing_a_request_twice_returns_the_same_certificate(pki, rsa2048_key):
    request = certificate_request_submit(
        authority=pki.issuing,
        template=pki.template,
        csr=make_csr(rsa2048_key)[0],
        subject=_cn("twice"),
        requester="test",
    )
    first = certificate_issue(request_id=request.pk)
    second = certificate_issue(request_id=request.pk)
    assert first is not None
    assert second == first
    assert bytes(second.der) == bytes(first.der)
    assert IssuedCertificate.objects.count() == 1


def test_sid_extension_is_present_when_a_sid_is_given(issue):
    request = issue(sid=SID)
    assert request.sid == SID
    extension = _certificate(request).extensions.get_extension_for_oid(OID_NTDS_CA_SECURITY_EXT)
    assert extension.critical is False
    assert isinstance(extension.value, x509.UnrecognizedExtension)
    other_name = asn1x509.GeneralNames.load(extension.value.value)[0].chosen
    assert other_name["type_id"].dotted == "1.3.6.1.4.1.311.25.2.1"
    assert other_name["value"].parse(OctetString).native == SID.encode("ascii")


def test_sid_extension_is_absent_without_a_sid(issue):
    cert = _certificate(issue())
    assert OID_NTDS_CA_SECURITY_EXT not in {extension.oid for extension in cert.extensions}


def test_malformed_sid_is_refused(issue):
    with pytest.raises(PolicyViolation) as excinfo:
        issue(sid="S-1-5-21-x")
    _assert_refused(excinfo, "sid_invalid")


def test_request_with_a_directory_name_san_is_issued(issue):
    directory_name = x509.DirectoryName(x509.Name.from_rfc4514_string("CN=device-1,O=Corp"))
    cert = _certificate(issue(sans=[directory_name]))
    assert list(cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value) == [
        directory_name
    ]
