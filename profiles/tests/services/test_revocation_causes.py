"""Every cause of revocation the reference has, and the device's state following it: a profile unassigned
(through a group membership change, an exclusion, an assignment deleted), a profile changed or deleted, a
superseded certificate, an administrator's revocation through the CA. Each ends with the certificate
revoked in the CRL (checked by openssl) and in OCSP (``openssl ocsp`` against a live server, verifying the
responder's signature) with the right reason, the device's certificate and its state saying so with the
cause.
"""

from __future__ import annotations

import pytest

from cryptography import x509

from django.test import TestCase

from ca.choices import RevocationReason
from ca.models import IssuedCertificate, RevocationRequest
from ca.services.revocation_requests import certificate_revoke_by_admin
from ca.tests.ocsp import clear_ocsp_caches, make_responder, openssl_ocsp
from ca.tests.pki import openssl, write_pem
from directory.services.groups import group_members_remove
from directory.tests.factories import GroupFactory
from eventlog.choices import DiagnosticCode, EventId
from eventlog.models import ConnectorEvent
from profiles.choices import AssignmentIntent, CertificateState, DeviceCertificateStatus, RevokeStatus
from profiles.models import DeviceCertificate, DeviceCertificateState, ProfileAssignment, ScepProfile
from profiles.services.profiles import (
    assignment_create,
    assignment_delete,
    scep_profile_delete,
    scep_profile_update,
)
from profiles.services.reconcile import REMOVED_REASON
from profiles.services.states import device_enrollment_succeeded


@pytest.fixture
def commit():
    """Run the on-commit work (the revocation request's dispatch, directory observers) of a block."""
    return TestCase.captureOnCommitCallbacks(execute=True)


@pytest.fixture
def enrolled(assigned, device, issue) -> IssuedCertificate:
    """The device holds a valid certificate of the assigned profile."""
    certificate = IssuedCertificate.objects.get(request=issue(common_name="jdoe"))
    device_enrollment_succeeded(device=device, profile=assigned, certificate=certificate)
    return certificate


@pytest.fixture(autouse=True)
def _ocsp(pki, monkeypatch):
    clear_ocsp_caches()
    make_responder(pki.issuing, monkeypatch)
    yield
    clear_ocsp_caches()


@pytest.fixture
def checker(live_server, pki, tmp_path):
    """``checker(certificate, reason)``: the CRL (openssl crl) and OCSP (openssl ocsp) both say revoked."""
    chain = write_pem(tmp_path / "chain.pem", pki.issuing.certificate, pki.root.certificate)
    issuer = write_pem(tmp_path / "issuer.pem", pki.issuing.certificate)

    def check(certificate: IssuedCertificate, reason: RevocationReason) -> None:
        crl_file = tmp_path / "crl.der"
        crl_file.write_bytes(bytes(certificate.authority.crls.latest().der))
        crl = openssl("crl", "-inform", "DER", "-in", str(crl_file), "-CAfile", str(chain), "-noout", "-text")
        assert "verify OK" in crl.stdout + crl.stderr
        assert certificate.serial in crl.stdout.replace(":", "").upper()
        leaf = write_pem(tmp_path / "leaf.pem", certificate.certificate)
        answer = openssl_ocsp(
            "-issuer", str(issuer), "-cert", str(leaf), "-url", f"{live_server.url}/ocsp/{pki.issuing.slug}",
            "-CAfile", str(chain),
        )  # fmt: skip
        assert "Response verify OK" in answer.stderr + answer.stdout, answer.stdout + answer.stderr
        assert f"{leaf}: revoked" in answer.stdout
        words = reason.label.replace(" ", "").lower()
        if reason != RevocationReason.UNSPECIFIED:
            assert words in answer.stdout.replace(" ", "").lower(), answer.stdout

    return check


def _in_crl(certificate: IssuedCertificate) -> x509.RevokedCertificate | None:
    crl = x509.load_der_x509_crl(bytes(certificate.authority.crls.latest().der))
    return crl.get_revoked_certificate_by_serial_number(certificate.serial_int)


def assert_revoked(
    certificate: IssuedCertificate, *, reason: RevocationReason, cause: str, checker=None
) -> None:
    certificate.refresh_from_db()
    assert certificate.revocation_reason == reason
    entry = _in_crl(certificate)
    assert entry is not None
    if reason != RevocationReason.UNSPECIFIED:
        assert entry.extensions.get_extension_for_class(x509.CRLReason).value.reason == reason.reason_flag
    if checker is not None:
        checker(certificate, reason)
    binding = DeviceCertificate.objects.get(certificate=certificate)
    assert (binding.status, binding.revoke_status) == (DeviceCertificateStatus.REVOKED, RevokeStatus.REVOKED)
    assert binding.status_reason.startswith("revoked: ")
    request = RevocationRequest.objects.get(items__certificate=certificate)
    assert (request.status, request.cause) == ("done", cause)


def test_leaving_the_group_revokes_the_profiles_certificate(
    assigned, device, enrolled, user_group, user, commit, checker
):
    with commit:
        group_members_remove(group=user_group, members=[user])

    assert_revoked(
        enrolled, reason=RevocationReason.AFFILIATION_CHANGED, cause="assignment_removed", checker=checker
    )
    state = DeviceCertificateState.objects.get(device=device, profile=assigned)
    assert (state.state, state.reason) == (CertificateState.REMOVED, REMOVED_REASON)
    request = RevocationRequest.objects.get()
    (item,) = request.items.all()
    assert item.context["device_external_id"] == device.external_id
    assert item.context["user_principal_name"] == user.user_principal_name
    event = ConnectorEvent.objects.get(event_id=EventId.REVOKE_CERT_SUCCESS)
    assert (event.device_id, event.device_external_id, event.user_id, event.user_principal_name) == (
        device.pk,
        device.external_id,
        user.pk,
        user.user_principal_name,
    )
    assert (event.ca_name, event.serial, event.diagnostic_code) == (
        enrolled.authority.name,
        enrolled.serial,
        DiagnosticCode.SUCCESS,
    )


def test_an_exclusion_revokes_the_profiles_certificate(assigned, device, enrolled, user, commit):
    excluded = GroupFactory.create(kind="user")
    excluded.users.add(user)
    with commit:
        assignment_create(scep_profile=assigned, group=excluded, intent=AssignmentIntent.EXCLUDE)

    assert_revoked(enrolled, reason=RevocationReason.AFFILIATION_CHANGED, cause="assignment_removed")
    assert (
        DeviceCertificateState.objects.get(device=device, profile=assigned).state == CertificateState.REMOVED
    )


def test_deleting_the_assignment_revokes(assigned, device, enrolled, commit):
    with commit:
        for assignment in ProfileAssignment.objects.filter(scep_profile=assigned):
            assignment_delete(assignment=assignment)

    assert_revoked(enrolled, reason=RevocationReason.AFFILIATION_CHANGED, cause="assignment_removed")


def test_a_profile_that_keeps_its_certificates_only_marks_the_state(
    assigned, device, enrolled, user_group, user, commit
):
    ScepProfile.objects.filter(pk=assigned.pk).update(revoke_on_removal=False)
    with commit:
        group_members_remove(group=user_group, members=[user])

    enrolled.refresh_from_db()
    assert enrolled.revoked_at is None
    assert not RevocationRequest.objects.exists()
    assert (
        DeviceCertificateState.objects.get(device=device, profile=assigned).state == CertificateState.REMOVED
    )


def test_an_unrelated_change_revokes_nothing(assigned, device, enrolled, commit):
    other = GroupFactory.create(kind="user")
    with commit:
        assignment_create(scep_profile=assigned, group=other)
        scep_profile_update(profile=assigned, description="a clearer description")

    enrolled.refresh_from_db()
    assert enrolled.revoked_at is None
    assert not RevocationRequest.objects.exists()
    assert (
        DeviceCertificateState.objects.get(device=device, profile=assigned).state == CertificateState.ISSUED
    )


def test_changing_what_the_certificates_say_revokes_them(assigned, device, enrolled, commit, checker):
    with commit:
        scep_profile_update(profile=assigned, subject_name_format_string="CN={{UserName}},OU=Mobile")

    assert_revoked(enrolled, reason=RevocationReason.SUPERSEDED, cause="profile_changed", checker=checker)
    state = DeviceCertificateState.objects.get(device=device, profile=assigned)
    assert state.state == CertificateState.PENDING
    assert "subject_name_format_string" in state.reason


def test_deleting_the_profile_revokes_its_certificates(assigned, device, enrolled, commit, checker):
    with commit:
        scep_profile_delete(profile=assigned)

    assert_revoked(
        enrolled, reason=RevocationReason.CESSATION_OF_OPERATION, cause="profile_deleted", checker=checker
    )
    assert not ScepProfile.objects.filter(pk=assigned.pk).exists()


def test_a_renewed_certificate_supersedes_and_revokes_the_previous_one(
    assigned, device, enrolled, issue, commit, checker
):
    renewed = IssuedCertificate.objects.get(request=issue(common_name="jdoe"))
    with commit:
        device_enrollment_succeeded(device=device, profile=assigned, certificate=renewed)

    assert_revoked(enrolled, reason=RevocationReason.SUPERSEDED, cause="superseded", checker=checker)
    previous = DeviceCertificate.objects.get(certificate=enrolled)
    assert previous.superseded_by == DeviceCertificate.objects.get(certificate=renewed)
    state = DeviceCertificateState.objects.get(device=device, profile=assigned)
    assert (state.state, state.certificate) == (CertificateState.ISSUED, renewed)  # the new one stands


def test_an_admin_revocation_through_the_ca_reaches_the_device_state(
    assigned, device, enrolled, commit, checker
):
    with commit:
        certificate_revoke_by_admin(
            certificate=enrolled, reason="key_compromise", requested_by="api:alice", wait=0
        )

    assert_revoked(enrolled, reason=RevocationReason.KEY_COMPROMISE, cause="admin", checker=checker)
    state = DeviceCertificateState.objects.get(device=device, profile=assigned)
    assert (state.state, state.reason) == (
        CertificateState.REVOKED,
        "revoked: revoked by an administrator (key compromise)",
    )


def test_a_requested_revocation_is_pending_until_the_ca_has_done_it(assigned, device, enrolled):
    certificate_revoke_by_admin(certificate=enrolled, reason="superseded", requested_by="api:alice", wait=0)
    # (no commit: the CA worker has not run)
    binding = DeviceCertificate.objects.get(certificate=enrolled)
    assert binding.revoke_status == RevokeStatus.PENDING
    assert (
        DeviceCertificateState.objects.get(device=device, profile=assigned).state == CertificateState.ISSUED
    )
