"""Audit rows are never changed or deleted: not by the model, its queryset, the admin or the API, and on
PostgreSQL not by SQL either (a trigger).
"""

from __future__ import annotations

import pytest

from django.db import DatabaseError, connection, transaction
from rest_framework.test import APIClient

from audit.choices import Chain
from audit.exceptions import AuditLogImmutable
from audit.models import AuditEntry, ChainLink
from ca.tests.pki import require_postgresql
from directory.tests.factories import DirectoryUserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def entry() -> AuditEntry:
    person = DirectoryUserFactory.create(display_name="Dora")
    entry: AuditEntry = AuditEntry.objects.get(
        object_type="directory.directoryuser", object_pk=str(person.pk)
    )
    return entry


def test_the_model_and_its_queryset_refuse_changes_and_deletions(entry):
    entry.object_repr = "someone else"
    with pytest.raises(AuditLogImmutable):
        entry.save()
    with pytest.raises(AuditLogImmutable):
        entry.delete()
    with pytest.raises(AuditLogImmutable):
        AuditEntry.objects.filter(pk=entry.pk).update(object_repr="someone else")
    with pytest.raises(AuditLogImmutable):
        AuditEntry.objects.filter(pk=entry.pk).delete()
    with pytest.raises(AuditLogImmutable), transaction.atomic():
        AuditEntry.objects.bulk_update([entry], ["object_repr"])
    entry.refresh_from_db()
    assert entry.object_repr == entry.changes["user_principal_name"][1]
    assert AuditEntry.objects.filter(pk=entry.pk).exists()


def test_chain_links_refuse_changes_and_only_event_links_may_go(sealing, entry):
    sealing()
    link = ChainLink.objects.get(chain=Chain.AUDIT, row_id=entry.pk)
    with pytest.raises(AuditLogImmutable):
        link.delete()
    with pytest.raises(AuditLogImmutable):
        ChainLink.objects.filter(pk=link.pk).update(link_hash="0" * 64)
    with pytest.raises(AuditLogImmutable):
        ChainLink.objects.filter(pk=link.pk).delete()
    assert ChainLink.objects.events_drop_through(entry.pk) == 0
    assert ChainLink.objects.filter(pk=link.pk).exists()


def test_the_admin_refuses_changes_even_to_superusers(admin_client, entry):
    base = "/admin/audit/auditentry/"
    assert admin_client.get(base).status_code == 200
    assert admin_client.get(f"{base}{entry.pk}/change/").status_code == 200  # the view page
    assert admin_client.get(f"{base}add/").status_code == 403
    assert admin_client.get(f"{base}{entry.pk}/delete/").status_code == 403
    response = admin_client.post(f"{base}{entry.pk}/change/", {"object_repr": "someone else"})
    assert response.status_code == 403
    bulk = admin_client.post(
        base, {"action": "delete_selected", "post": "yes", "_selected_action": [entry.pk]}
    )
    assert bulk.status_code == 200  # no action is offered: the changelist ignores it and deletes nothing
    assert admin_client.get(base).context["action_form"] is None
    entry.refresh_from_db()
    assert "someone else" not in entry.object_repr
    assert AuditEntry.objects.filter(pk=entry.pk).exists()


def test_the_api_refuses_writes_even_from_superusers(admin_user, entry):
    client = APIClient()
    client.force_authenticate(admin_user)
    url = f"/api/v1/audit-log/{entry.pk}/"
    assert client.get(url).status_code == 200
    assert client.post("/api/v1/audit-log/", {"object_repr": "x"}, format="json").status_code == 405
    assert client.put(url, {"object_repr": "x"}, format="json").status_code == 405
    assert client.patch(url, {"object_repr": "x"}, format="json").status_code == 405
    assert client.delete(url).status_code == 405
    entry.refresh_from_db()
    assert entry.object_repr != "x"


@pytest.mark.postgres
@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE audit_auditentry SET object_repr = 'x' WHERE id = %s",
        "DELETE FROM audit_auditentry WHERE id = %s",
    ],
)
def test_on_postgresql_the_trigger_refuses_sql_updates_and_deletes(entry, sql):
    require_postgresql()
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql, [entry.pk])
    entry.refresh_from_db()
    assert entry.object_repr != "x"


@pytest.mark.postgres
def test_on_postgresql_the_trigger_keeps_the_audit_chain_links(sealing, entry):
    require_postgresql()
    sealing()
    link = ChainLink.objects.get(chain=Chain.AUDIT, row_id=entry.pk)
    for sql in (
        "UPDATE audit_chainlink SET link_hash = 'x' WHERE id = %s",
        "DELETE FROM audit_chainlink WHERE id = %s",
    ):
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql, [link.pk])
    assert ChainLink.objects.get(pk=link.pk).link_hash == link.link_hash
