"""The CA admin: every model registered, every page loads, actions go through the services."""

from __future__ import annotations

import pytest

from django.apps import apps
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.test import TestCase
from django.urls import reverse

from ca.choices import CertificateRequestStatus, RevocationReason
from ca.models import (
    AuthorityRollover,
    CertificateAuthority,
    CertificateRequest,
    CertificateRevocationList,
    CertificateTemplate,
    IssuedCertificate,
    OcspResponder,
    PkcsRequest,
    RevocationRequest,
    RevocationRequestItem,
)
from ca.services.revocation_requests import certificate_revoke_by_admin

MODELS = [
    CertificateAuthority,
    CertificateTemplate,
    CertificateRequest,
    IssuedCertificate,
    CertificateRevocationList,
    RevocationRequest,
]


def _url(model, view: str, *args) -> str:
    return reverse(f"admin:ca_{model._meta.model_name}_{view}", args=args)


@pytest.fixture
def rows(pki, issue):
    """A few rows of every model: two CAs, CRLs, issued, revoked and pending certificates/requests."""
    issue(common_name="valid")
    revoked = IssuedCertificate.objects.get(request=issue(common_name="revoked"))
    with TestCase.captureOnCommitCallbacks(execute=True):
        certificate_revoke_by_admin(certificate=revoked, reason="key_compromise", requested_by="test", wait=0)
    pki.template.requires_approval = True
    pki.template.save()
    pending = issue(common_name="pending")
    assert pending.status == CertificateRequestStatus.PENDING_APPROVAL
    return {"revoked": revoked, "pending": pending}


def test_every_ca_model_is_registered():
    """(A revocation request's items are shown on the request's page; the read-only admins of OCSP responders,
    rollovers and PKCS requests have tests of their own.)"""
    assert set(apps.get_app_config("ca").get_models()) - {OcspResponder, AuthorityRollover, PkcsRequest} == {
        *MODELS,
        RevocationRequestItem,
    }
    for model in MODELS:
        assert admin.site.is_registered(model), model
    inlines = admin.site._registry[RevocationRequest].inlines
    assert [inline.model for inline in inlines] == [RevocationRequestItem]


def test_rollovers_are_listed_read_only(admin_client, pki):
    AuthorityRollover.objects.create(
        authority=pki.issuing,
        successor_slug="issuing-2",
        successor_name="Issuing CA 2",
        key_spec="RSA-2048",
        validity_days=365,
        parent=pki.root,
        requested_by="command:ca_rollover",
    )
    rollover = AuthorityRollover.objects.get()

    listed = admin_client.get(_url(AuthorityRollover, "changelist"))
    shown = admin_client.get(_url(AuthorityRollover, "change", rollover.pk))

    assert admin.site.is_registered(AuthorityRollover)
    assert listed.status_code == 200
    assert list(listed.context["cl"].list_display) == [
        "authority",
        "successor",
        "status_short",
        "switch_at",
        "created_at",
    ]
    row = listed.content.decode()
    assert pki.issuing.name in row
    assert ">Requested<" in row
    assert shown.status_code == 200
    assert b'name="_save"' not in shown.content
    assert b"Issuing CA 2" in shown.content
    assert admin_client.get(_url(AuthorityRollover, "add")).status_code == 403
    assert admin_client.post(_url(AuthorityRollover, "delete", rollover.pk)).status_code == 403


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_changelist_loads(admin_client, rows, model):
    response = admin_client.get(_url(model, "changelist"))
    assert response.status_code == 200
    assert response.context["cl"].result_count == model.objects.count() > 0


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_change_page_loads_for_every_row(admin_client, rows, model):
    for obj in model.objects.all():
        response = admin_client.get(_url(model, "change", obj.pk))
        assert response.status_code == 200, (model, obj)


@pytest.mark.parametrize(
    "query",
    ["status=issued", "status=revoked", "status=expired", "revocation_reason=key_compromise", "q=revoked"],
)
def test_certificate_changelist_filters(admin_client, rows, query):
    response = admin_client.get(_url(IssuedCertificate, "changelist") + "?" + query)
    assert response.status_code == 200
    expected = {"status=issued": 1, "status=revoked": 1, "status=expired": 0}.get(query, 1)
    assert response.context["cl"].result_count == expected


def test_private_key_reference_is_not_shown(admin_client, pki):
    response = admin_client.get(_url(CertificateAuthority, "change", pki.issuing.pk))
    assert b"ENCRYPTED PRIVATE KEY" not in response.content
    assert b"key_reference" not in response.content


def test_cas_certificates_and_requests_cannot_be_added_in_the_admin(admin_client, pki):
    for model in (CertificateAuthority, IssuedCertificate, CertificateRequest, CertificateRevocationList):
        assert admin_client.get(_url(model, "add")).status_code == 403, model
    assert admin_client.get(_url(CertificateTemplate, "add")).status_code == 200


def test_revoke_action_asks_for_a_reason_and_a_confirmation_first(admin_client, pki, issued):
    response = admin_client.post(
        _url(IssuedCertificate, "changelist"), {"action": "revoke_selected", "_selected_action": [issued.pk]}
    )
    assert response.status_code == 200
    assert response.templates[0].name == "admin/ca/issuedcertificate/revoke_confirmation.html"
    page = response.content.decode()
    assert issued.serial in page
    assert 'name="reason"' in page
    assert "This cannot be undone." in page
    issued.refresh_from_db()
    assert issued.revoked_at is None
    assert pki.issuing.crls.count() == 1


@pytest.mark.django_db(transaction=True)  # the revocation request is sent to the CA when it commits
def test_revoke_action_revokes_with_the_reason_and_publishes_a_crl(admin_client, pki, issued):
    response = admin_client.post(
        _url(IssuedCertificate, "changelist"),
        {
            "action": "revoke_selected",
            "_selected_action": [issued.pk],
            "reason": RevocationReason.KEY_COMPROMISE,
            "comment": "stolen",
            "confirm": "Revoke",
        },
        follow=True,
    )
    assert response.status_code == 200
    assert "1 certificate(s) revoked, 0 queued for the CA worker." in [
        str(m) for m in response.context["messages"]
    ]
    issued.refresh_from_db()
    assert issued.revocation_reason == RevocationReason.KEY_COMPROMISE
    assert issued.revoked_at is not None
    assert pki.issuing.crls.count() == 2
    request = RevocationRequest.objects.get()
    assert (request.cause, request.comment, request.requested_by) == ("admin", "stolen", "admin:admin")


def test_revoke_action_reports_an_already_revoked_certificate(admin_client, pki, rows):
    revoked = rows["revoked"]
    response = admin_client.post(
        _url(IssuedCertificate, "changelist"),
        {
            "action": "revoke_selected",
            "_selected_action": [revoked.pk],
            "reason": "superseded",
            "confirm": "1",
        },
        follow=True,
    )
    messages = [str(m) for m in response.context["messages"]]
    assert any(
        m.startswith(f"{revoked.serial}: certificate {revoked.serial} was revoked at") for m in messages
    )
    assert "0 certificate(s) revoked, 0 queued for the CA worker." in messages
    revoked.refresh_from_db()
    assert revoked.revocation_reason == RevocationReason.KEY_COMPROMISE


def test_publish_crl_action(admin_client, pki):
    admin_client.post(
        _url(CertificateAuthority, "changelist"),
        {"action": "publish_crl", "_selected_action": [pki.issuing.pk]},
    )
    assert sorted(pki.issuing.crls.values_list("number", flat=True)) == [1, 2]
    assert pki.root.crls.count() == 1


def test_approve_action_issues(admin_client, rows, django_capture_on_commit_callbacks):
    pending = rows["pending"]
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(
            _url(CertificateRequest, "changelist"),
            {"action": "approve_selected", "_selected_action": [pending.pk]},
        )
    pending.refresh_from_db()
    assert pending.status == CertificateRequestStatus.ISSUED
    assert pending.decided_by == "admin:admin"
    assert IssuedCertificate.objects.filter(request=pending).count() == 1


def test_deny_action(admin_client, rows):
    pending = rows["pending"]
    admin_client.post(
        _url(CertificateRequest, "changelist"), {"action": "deny_selected", "_selected_action": [pending.pk]}
    )
    pending.refresh_from_db()
    assert pending.status == CertificateRequestStatus.DENIED
    assert IssuedCertificate.objects.filter(request=pending).count() == 0


def test_actions_need_their_permissions(client, django_user_model, rows):
    staff = django_user_model.objects.create_user(username="staff", password="pw", is_staff=True)
    staff.user_permissions.add(
        *Permission.objects.filter(
            codename__in=["view_issuedcertificate", "view_certificaterequest", "change_certificaterequest"]
        )
    )
    client.force_login(staff)
    response = client.get(_url(IssuedCertificate, "changelist"))
    assert response.status_code == 200
    assert "revoke_selected" not in response.context["cl"].model_admin.get_actions(response.wsgi_request)
    response = client.get(_url(CertificateRequest, "changelist"))
    assert "approve_selected" not in response.context["cl"].model_admin.get_actions(response.wsgi_request)
