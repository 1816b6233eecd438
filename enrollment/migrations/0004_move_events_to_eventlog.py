"""The event log moves to its own app: EnrollmentEvent rows become eventlog.ConnectorEvent rows (same ids,
order and times; the service and the transaction become soft links), then EnrollmentEvent goes.

The reverse moves the rows back (soft links whose service or transaction still exists become foreign keys
again; the other links are lost), so that going back and forth never copies a row twice.
"""

from django.core.management.color import no_style
from django.db import migrations

BATCH = 2000


def _reset_sequence(schema_editor, model):
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        for statement in connection.ops.sequence_reset_sql(no_style(), [model]):
            cursor.execute(statement)


def events_forward(apps, schema_editor):
    """Copy every EnrollmentEvent into ConnectorEvent, keeping ids and created_at."""
    old = apps.get_model("enrollment", "EnrollmentEvent")
    new = apps.get_model("eventlog", "ConnectorEvent")
    alias = schema_editor.connection.alias
    slugs = dict(apps.get_model("enrollment", "ScepService").objects.using(alias).values_list("id", "slug"))
    rows = old.objects.using(alias).order_by("id")
    last = 0
    while True:
        batch = list(rows.filter(id__gt=last)[:BATCH])
        if not batch:
            break
        new.objects.using(alias).bulk_create(
            [
                new(
                    id=event.id,
                    created_at=event.created_at,
                    event_id=event.event_id,
                    level=event.level,
                    message=event.message,
                    diagnostic_code=event.diagnostic_code,
                    details=event.details or {},
                    service_slug=slugs.get(event.service_id, ""),
                    scep_transaction_id=event.scep_transaction_id,
                    transaction_id=event.transaction_id,
                    message_type=event.message_type,
                    fail_info=event.fail_info,
                    client_address=event.client_address,
                    # ScepIssuedSuccess kept the certificate in its details.
                    serial=str((event.details or {}).get("serial", ""))[:64],
                    thumbprint=str((event.details or {}).get("thumbprint", ""))[:64],
                )
                for event in batch
            ]
        )
        last = batch[-1].id
    _reset_sequence(schema_editor, new)


def events_backward(apps, schema_editor):
    """Move the connector events back into EnrollmentEvent (its table is there again)."""
    old = apps.get_model("enrollment", "EnrollmentEvent")
    new = apps.get_model("eventlog", "ConnectorEvent")
    alias = schema_editor.connection.alias
    services = dict(apps.get_model("enrollment", "ScepService").objects.using(alias).values_list("slug", "id"))
    transactions = apps.get_model("enrollment", "ScepTransaction").objects.using(alias)
    rows = new.objects.using(alias).order_by("id")
    last = 0
    while True:
        batch = list(rows.filter(id__gt=last)[:BATCH])
        if not batch:
            break
        known = set(
            transactions.filter(id__in={e.scep_transaction_id for e in batch if e.scep_transaction_id})
            .values_list("id", flat=True)
        )
        copies = old.objects.using(alias).bulk_create(
            [
                old(
                    id=event.id,
                    event_id=event.event_id,
                    level=event.level,
                    message=event.message,
                    diagnostic_code=event.diagnostic_code,
                    details=event.details or {},
                    service_id=services.get(event.service_slug),
                    scep_transaction_id=event.scep_transaction_id if event.scep_transaction_id in known else None,
                    transaction_id=event.transaction_id,
                    message_type=event.message_type,
                    fail_info=event.fail_info,
                    client_address=event.client_address,
                )
                for event in batch
            ]
        )
        # created_at is auto_now_add on the old model: bulk_create set it to now; bulk_update sets it as given.
        for copy, event in zip(copies, batch, strict=True):
            copy.created_at = event.created_at
        old.objects.using(alias).bulk_update(copies, ["created_at"], batch_size=500)
        last = batch[-1].id
    new.objects.using(alias).all().delete()
    _reset_sequence(schema_editor, old)


class Migration(migrations.Migration):
    dependencies = [
        ("enrollment", "0003_alter_enrollmentevent_event_id"),
        ("eventlog", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(events_forward, events_backward, elidable=False),
        migrations.DeleteModel(name="EnrollmentEvent"),
    ]
