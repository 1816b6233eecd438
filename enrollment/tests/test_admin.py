"""The SCEP front end's admin: every model registered, changelists and change pages load for a superuser."""

from __future__ import annotations

import pytest

from django.apps import apps
from django.contrib import admin
from django.urls import reverse

from enrollment import scep
from enrollment.models import RegistrationAuthority, ScepService, ScepTransaction
from enrollment.tests.fixtures import Device

MODELS = [RegistrationAuthority, ScepService, ScepTransaction]


def _url(model, view: str, *args) -> str:
    return reverse(f"admin:enrollment_{model._meta.model_name}_{view}", args=args)


@pytest.fixture
def rows(scep_client, device_keys, settings, django_capture_on_commit_callbacks):
    """Two services and their RA, an issued and a refused transaction."""
    settings.CERTPORTAL_SCEP_ISSUE_WAIT = 0
    device = Device.create(device_keys[0])
    with django_capture_on_commit_callbacks(execute=True):  # the CA issues after the PENDING answer
        assert scep_client.enroll(device).status is scep.PkiStatus.PENDING
    assert scep_client.enroll(device).status is scep.PkiStatus.SUCCESS
    device = Device.create(device_keys[1], "refused")
    assert scep_client.enroll(device, device.csr(challenge="wrong")).status is scep.PkiStatus.FAILURE
    scep_client.client.get("/scep/strict", {"operation": "PKIOperation", "message": "!!"})


def test_every_enrollment_model_is_registered():
    assert set(apps.get_app_config("enrollment").get_models()) == set(MODELS)
    for model in MODELS:
        assert admin.site.is_registered(model), model


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_changelist_loads(admin_client, rows, model):
    response = admin_client.get(_url(model, "changelist"))
    assert response.status_code == 200
    assert response.context["cl"].result_count == model.objects.count() > 0


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_changelist_search_and_filters_load(admin_client, rows, model):
    response = admin_client.get(_url(model, "changelist"), {"q": "strict"})
    assert response.status_code == 200


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_change_page_loads(admin_client, rows, model):
    for obj in model.objects.all():
        response = admin_client.get(_url(model, "change", obj.pk))
        assert response.status_code == 200, obj


@pytest.mark.parametrize("model", [RegistrationAuthority, ScepTransaction], ids=lambda m: m.__name__)
def test_records_are_not_added_by_hand(admin_client, rows, model):
    assert admin_client.get(_url(model, "add")).status_code == 403


def test_ra_change_page_does_not_show_the_key(admin_client, rows):
    ra = RegistrationAuthority.objects.get()
    page = admin_client.get(_url(RegistrationAuthority, "change", ra.pk)).content.decode()
    assert "ENCRYPTED PRIVATE KEY" not in page
    assert "BEGIN CERTIFICATE" in page
