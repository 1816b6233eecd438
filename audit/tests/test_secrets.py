"""No secret reaches the audit log, and every model is either audited or excluded on purpose."""

from __future__ import annotations

import json

import pytest
from auditlog.registry import auditlog

from django.apps import apps

from audit.choices import Action
from audit.models import AuditEntry
from audit.registration import AUDITED, NOT_AUDITED, REDACTED, proxies_of
from audit.tests.fixtures import entries_for
from directory.services.checkin_tokens import device_checkin_token_rotate
from directory.tests.factories import DeviceFactory
from enrollment.services.registration import scep_service_set_static_challenge
from eventlog.services import event_record

pytestmark = pytest.mark.django_db


def _everything_recorded() -> str:
    rows = AuditEntry.objects.values()
    return "\n".join(json.dumps(row, default=str) for row in rows)


def test_no_secret_value_appears_in_any_audit_row(pki, scep_service, api_client_for, django_user_model):
    user = django_user_model.objects.create_user(username="carol", password="Carol-pw-123")
    user.set_password("Carol-pw-456")
    user.save()
    device = DeviceFactory.create()
    checkin_token = device_checkin_token_rotate(device=device)
    scep_service_set_static_challenge(service=scep_service, challenge="second-static-challenge")
    client = api_client_for("directory.view_device")
    api_token = client._credentials["HTTP_AUTHORIZATION"].removeprefix("Token ")

    device.refresh_from_db()
    scep_service.refresh_from_db()
    user.refresh_from_db()
    stored_token = client.user.auth_token_set.get()  # the token backend's model (knox: access.ApiToken)
    secrets = {
        "password hash": user.password,
        "check-in token": checkin_token,
        "check-in token digest": device.checkin_token_digest,
        "static challenge digest": scep_service.static_challenge_digest,
        "static challenge": "second-static-challenge",
        "RA key": scep_service.registration_authority.encrypted_key_pem,
        "CA key": pki.issuing.key_reference["encrypted_pkcs8"],
        "root CA key": pki.root.key_reference["encrypted_pkcs8"],
        "API token": api_token,
        "API token digest": stored_token.digest,
    }
    recorded = _everything_recorded()
    assert all(value and len(value) >= 16 for value in secrets.values()), secrets
    leaked = sorted(name for name, value in secrets.items() if value in recorded)
    assert leaked == []
    # ... while their changes are on record, without the values:
    password_change = entries_for("auth.User", user.pk).filter(action=Action.UPDATE).last()
    assert password_change.changes["password"] == [REDACTED, REDACTED]
    rotation = entries_for("directory.Device", device.pk).last()
    assert rotation.changes == {"checkin_token_digest": ["", REDACTED]}
    service_change = entries_for("enrollment.ScepService", scep_service.pk).last()
    assert service_change.changes == {"static_challenge_digest": [REDACTED, REDACTED]}
    ca = entries_for("ca.CertificateAuthority", pki.issuing.pk).first()
    assert ca.changes["key_reference"] == ["", REDACTED]
    token_entry = AuditEntry.objects.get(object_type=stored_token._meta.label_lower, action=Action.CREATE)
    assert token_entry.object_pk == stored_token.token_key
    assert token_entry.changes["digest"] == ["", REDACTED]


def test_every_model_is_audited_or_excluded_with_a_reason():
    audited = {entry.label for entry in AUDITED}
    assert not audited & set(NOT_AUDITED)
    undecided = sorted(
        model._meta.label
        for model in apps.get_models(include_swapped=True)
        if not model._meta.swapped
        and model._meta.label not in NOT_AUDITED
        and getattr(model._meta.concrete_model, "_meta", model._meta).label not in audited
    )
    assert undecided == []


def test_a_proxy_model_is_audited_like_its_model():
    proxies = proxies_of(apps.get_model("directory.Device"))
    assert apps.get_model("profiles.ManagedDevice") in proxies
    assert all(auditlog.contains(model) for model in proxies)
    assert all(
        auditlog.get_model_fields(model)["mask_fields"]
        == auditlog.get_model_fields(model._meta.concrete_model)["mask_fields"]
        for model in proxies
    )


@pytest.mark.parametrize(
    "label", ["eventlog.ConnectorEvent", "enrollment.ScepTransaction", "profiles.DeviceChallenge"]
)
def test_the_high_volume_rows_are_not_audited(label):
    assert not auditlog.contains(apps.get_model(label))
    assert label in NOT_AUDITED


def test_recording_an_event_writes_no_audit_entry():
    before = AuditEntry.objects.count()
    assert event_record(event_id=4000, message="answered") is not None
    assert AuditEntry.objects.count() == before
