"""/api/v1/certificate-requests/: submit a CSR (certreq's role), the approval queue, permissions."""

from __future__ import annotations

from typing import Any

import pytest

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from ca.choices import CertificateRequestStatus
from ca.crypto.identities import OID_UPN
from ca.models import CertificateRequest, IssuedCertificate
from ca.tests.pki import make_csr, openssl_verify

URL = "/api/v1/certificate-requests/"
SUBMIT = ("ca.add_certificaterequest", "ca.view_certificaterequest")
APPROVE = ("ca.approve_certificaterequest", "ca.view_certificaterequest")


def _pem(csr: x509.CertificateSigningRequest) -> str:
    return csr.public_bytes(serialization.Encoding.PEM).decode("ascii")


@pytest.fixture
def csr_pem(rsa2048_key) -> str:
    return _pem(make_csr(rsa2048_key, common_name="api-device")[0])


def _body(csr_pem: str, **fields: Any) -> dict[str, Any]:
    return {"authority": "test-issuing", "template": "TestClientAuth", "csr": csr_pem, **fields}


def _assert_nothing_stored() -> None:
    assert CertificateRequest.objects.count() == 0
    assert IssuedCertificate.objects.count() == 0


# --- Submitting: the CA task runs when the request commits, so these tests use real transactions ---------


def test_submit_issues_a_certificate_openssl_verifies(
    transactional_db, pki, csr_pem, api_client_for, tmp_path
):
    response = api_client_for(*SUBMIT).post(
        URL,
        _body(csr_pem, sans=["DNS:api-device.corp.example", "UPN:api-device@corp.example", "IP:192.0.2.9"]),
        format="json",
    )
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["status"] == "issued"
    assert data["subject"] == "CN=api-device"
    assert data["requester"].startswith("api:api-user-")
    assert (data["authority"], data["template"]) == ("test-issuing", "TestClientAuth")
    issued = IssuedCertificate.objects.get(pk=data["certificate"])
    assert issued.request_id == data["id"]
    assert issued.sans == ["DNS:api-device.corp.example", "UPN:api-device@corp.example", "IP:192.0.2.9"]
    san = issued.certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert [n.type_id for n in san.get_values_for_type(x509.OtherName)] == [OID_UPN]
    openssl_verify(tmp_path, issued.certificate, pki.issuing.certificate, pki.root.certificate)


def test_submit_with_an_explicit_subject(transactional_db, pki, csr_pem, api_client_for):
    response = api_client_for(*SUBMIT).post(URL, _body(csr_pem, subject="CN=chosen,O=Corp"), format="json")
    assert response.status_code == 201, response.content
    issued = IssuedCertificate.objects.get(pk=response.json()["certificate"])
    assert issued.certificate.subject == x509.Name.from_rfc4514_string("CN=chosen,O=Corp")


def test_submit_with_a_requested_validity(transactional_db, pki, csr_pem, api_client_for):
    pki.template.allow_requester_validity = True
    pki.template.save()
    response = api_client_for(*SUBMIT).post(URL, _body(csr_pem, validity_days=10), format="json")
    assert response.status_code == 201, response.content
    issued = IssuedCertificate.objects.get(pk=response.json()["certificate"])
    assert (issued.not_after - issued.not_before).days == 10  # 10 days + the 5-minute backdating


def test_submit_an_ec_request(transactional_db, pki, api_client_for, tmp_path):
    csr, _ = make_csr(ec.generate_private_key(ec.SECP384R1()), common_name="ec-device")
    response = api_client_for(*SUBMIT).post(URL, _body(_pem(csr)), format="json")
    assert response.status_code == 201, response.content
    issued = IssuedCertificate.objects.get(pk=response.json()["certificate"])
    openssl_verify(tmp_path, issued.certificate, pki.issuing.certificate, pki.root.certificate)


def test_approval_flow(transactional_db, pki, csr_pem, api_client_for, tmp_path):
    pki.template.requires_approval = True
    pki.template.save()
    response = api_client_for(*SUBMIT).post(URL, _body(csr_pem), format="json")
    assert response.status_code == 202, response.content
    assert response.json()["status"] == "pending_approval"
    assert response.json()["certificate"] is None
    request_id = response.json()["id"]
    assert IssuedCertificate.objects.count() == 0

    approver = api_client_for(*APPROVE)
    response = approver.post(f"{URL}{request_id}/approve/")
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["status"] == "issued"
    assert data["decided_by"].startswith("api:api-user-")
    issued = IssuedCertificate.objects.get(pk=data["certificate"])
    openssl_verify(tmp_path, issued.certificate, pki.issuing.certificate, pki.root.certificate)

    again = approver.post(f"{URL}{request_id}/approve/")
    assert again.status_code == 409
    assert again.json()["code"] == "request_not_pending"
    assert IssuedCertificate.objects.count() == 1


def test_submit_answers_202_when_the_ca_worker_has_not_finished(pki, csr_pem, api_client_for, monkeypatch):
    # Here the on-commit dispatch never runs (the test transaction is not committed): the CA worker is "slow".
    monkeypatch.setattr("ca.api.views.API_WAIT_SECONDS", 0)
    sans = ["email:api-device@corp.example", "URI:https://corp.example/devices/1"]
    response = api_client_for(*SUBMIT).post(URL, _body(csr_pem, subject="", sans=sans), format="json")
    assert response.status_code == 202, response.content
    assert response.json()["status"] == "queued"
    assert response.json()["certificate"] is None
    request = CertificateRequest.objects.get()
    assert request.status == CertificateRequestStatus.QUEUED
    assert request.subject == "CN=api-device"  # a blank subject means the CSR's
    assert request.subject_alternative_names == [
        x509.RFC822Name("api-device@corp.example"),
        x509.UniformResourceIdentifier("https://corp.example/devices/1"),
    ]
    assert IssuedCertificate.objects.count() == 0


# --- Refusals (nothing reaches the queue, so no real transaction is needed) ------------------------------


def test_anonymous_is_unauthorized(pki, csr_pem):
    assert APIClient().post(URL, _body(csr_pem), format="json").status_code == 401
    assert APIClient().get(URL).status_code == 401
    _assert_nothing_stored()


def test_submit_needs_the_add_permission(pki, csr_pem, api_client_for):
    assert (
        api_client_for("ca.view_certificaterequest").post(URL, _body(csr_pem), format="json").status_code
        == 403
    )
    _assert_nothing_stored()


@pytest.mark.parametrize(
    "csr",
    [
        "not a csr",
        "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n",
        "",
    ],
    ids=["text", "pem-garbage", "empty"],
)
def test_bad_csr_is_a_csr_field_error(pki, api_client_for, csr):
    response = api_client_for(*SUBMIT).post(URL, _body(csr), format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["csr"]
    _assert_nothing_stored()


def test_tampered_csr_is_a_csr_field_error(pki, rsa2048_key, api_client_for):
    der = make_csr(rsa2048_key)[0].public_bytes(serialization.Encoding.DER)
    tampered = x509.load_der_x509_csr(der[:-1] + bytes([der[-1] ^ 1]))
    response = api_client_for(*SUBMIT).post(URL, _body(_pem(tampered)), format="json")
    assert response.status_code == 400
    assert response.json() == {"csr": ["the CSR's signature does not verify with its own public key"]}
    _assert_nothing_stored()


def test_small_key_is_refused_with_its_code(pki, api_client_for):
    csr, _ = make_csr(rsa.generate_private_key(public_exponent=65537, key_size=1024))  # noqa: S505 - the refused key
    response = api_client_for(*SUBMIT).post(URL, _body(_pem(csr)), format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "key_too_small"
    assert "1024 bits is below the minimum of 2048" in response.json()["detail"]
    _assert_nothing_stored()


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"validity_days": 10}, "validity_not_allowed"),
        ({"authority": "test-root"}, "template_not_published"),
    ],
    ids=["validity", "not-published"],
)
def test_policy_refusals_carry_their_code(pki, csr_pem, api_client_for, fields, code):
    response = api_client_for(*SUBMIT).post(URL, _body(csr_pem, **fields), format="json")
    assert response.status_code == 400
    assert response.json()["code"] == code
    _assert_nothing_stored()


def test_disabled_ca_is_a_conflict(pki, csr_pem, api_client_for):
    pki.issuing.enabled = False
    pki.issuing.save()
    response = api_client_for(*SUBMIT).post(URL, _body(csr_pem), format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "authority_disabled"
    _assert_nothing_stored()


def test_subject_or_san_is_required(pki, rsa2048_key, api_client_for):
    csr = (
        x509.CertificateSigningRequestBuilder().subject_name(x509.Name([])).sign(rsa2048_key, hashes.SHA256())
    )
    response = api_client_for(*SUBMIT).post(URL, _body(_pem(csr)), format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "name_missing"
    _assert_nothing_stored()


def test_subject_must_be_stated_when_the_template_does_not_take_it_from_the_request(
    pki, csr_pem, api_client_for
):
    pki.template.subject_supplied_in_request = False
    pki.template.save()
    response = api_client_for(*SUBMIT).post(URL, _body(csr_pem), format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["subject"]
    _assert_nothing_stored()


@pytest.mark.parametrize(
    ("fields", "error_field"),
    [
        ({"sans": ["FOO:bar"]}, "sans"),
        ({"sans": ["host.example"]}, "sans"),
        ({"sans": ["IP:999.1.1.1"]}, "sans"),
        ({"sans": ["DNS:"]}, "sans"),
        ({"subject": "no equals sign"}, "subject"),
        ({"subject": "CN=" + "x" * 65}, "subject"),
        ({"subject": "C=DEU"}, "subject"),
        ({"template": "Nope"}, "template"),
        ({"authority": "nope"}, "authority"),
        ({"validity_days": 0}, "validity_days"),
    ],
)
def test_invalid_fields_are_field_errors(pki, csr_pem, api_client_for, fields, error_field):
    response = api_client_for(*SUBMIT).post(URL, _body(csr_pem, **fields), format="json")
    assert response.status_code == 400, response.content
    assert list(response.json()) == [error_field]
    _assert_nothing_stored()


# --- The queue: list, approve, deny ----------------------------------------------------------------------


@pytest.fixture
def pending(pki, issue):
    pki.template.requires_approval = True
    pki.template.save()
    return issue(common_name="pending")


def test_list_and_filter_by_status(pending, issue, pki, api_client_for):
    pki.template.requires_approval = False
    pki.template.save()
    issued = issue(common_name="issued")
    client = api_client_for("ca.view_certificaterequest")
    response = client.get(URL)
    assert response.status_code == 200
    assert {r["id"] for r in response.json()["results"]} == {pending.pk, issued.pk}
    response = client.get(URL, {"status": "pending_approval"})
    assert [r["id"] for r in response.json()["results"]] == [pending.pk]
    response = client.get(f"{URL}{issued.pk}/")
    assert response.json()["certificate"] == IssuedCertificate.objects.get(request=issued).pk


def test_list_needs_the_view_permission(pending, api_client_for):
    assert api_client_for().get(URL).status_code == 403


def test_deny(pending, api_client_for):
    response = api_client_for(*APPROVE).post(
        f"{URL}{pending.pk}/deny/", {"reason": "unknown device"}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "denied"
    assert response.json()["failure_reason"] == "unknown device"
    pending.refresh_from_db()
    assert pending.status == CertificateRequestStatus.DENIED
    assert IssuedCertificate.objects.count() == 0


def test_deny_then_approve_is_a_conflict(pending, api_client_for):
    client = api_client_for(*APPROVE)
    assert client.post(f"{URL}{pending.pk}/deny/", {}, format="json").status_code == 200
    response = client.post(f"{URL}{pending.pk}/approve/")
    assert response.status_code == 409
    assert response.json()["code"] == "request_not_pending"
    assert IssuedCertificate.objects.count() == 0


def test_approve_and_deny_need_the_approve_permission(pending, api_client_for):
    client = api_client_for(*SUBMIT, "ca.change_certificaterequest")
    assert client.post(f"{URL}{pending.pk}/approve/").status_code == 403
    assert client.post(f"{URL}{pending.pk}/deny/", {}, format="json").status_code == 403
    pending.refresh_from_db()
    assert pending.status == CertificateRequestStatus.PENDING_APPROVAL
    assert IssuedCertificate.objects.count() == 0


def test_list_query_count_does_not_grow_with_the_rows(pki, issue, api_client_for):
    client = api_client_for("ca.view_certificaterequest")
    client.get(URL)  # the token's first use writes its last_used_at
    issue(common_name="one")
    with CaptureQueriesContext(connection) as one:
        assert client.get(URL).json()["count"] == 1
    for n in range(5):
        issue(common_name=f"more-{n}")
    with CaptureQueriesContext(connection) as six:
        assert client.get(URL).json()["count"] == 6
    assert len(six) == len(one)
