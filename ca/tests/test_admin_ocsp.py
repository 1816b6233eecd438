"""The OCSP responders in the admin: listed and viewable, never added, changed or deleted, key not shown."""

from __future__ import annotations

from django.contrib import admin
from django.urls import reverse

from ca.models import OcspResponder
from ca.tests.ocsp import make_responder


def test_responders_are_read_only_records(admin_client, pki, monkeypatch):
    responder = make_responder(pki.issuing, monkeypatch)
    assert OcspResponder in admin.site._registry
    listing = admin_client.get(reverse("admin:ca_ocspresponder_changelist"))
    assert listing.status_code == 200
    assert responder.certificate.serial in listing.content.decode()
    page = admin_client.get(reverse("admin:ca_ocspresponder_change", args=[responder.pk]))
    assert page.status_code == 200
    assert "ENCRYPTED PRIVATE KEY" not in page.content.decode()
    assert b'name="_save"' not in page.content
    assert admin_client.get(reverse("admin:ca_ocspresponder_add")).status_code == 403
    assert admin_client.post(reverse("admin:ca_ocspresponder_delete", args=[responder.pk])).status_code == 403
    assert OcspResponder.objects.filter(pk=responder.pk).exists()
