"""On PostgreSQL, triggers refuse UPDATE and DELETE of audit rows, and UPDATE of chain links and DELETE of
the audit chain's links (the events' links go with the event log's retention, behind an anchor). SQLite has
no such triggers here: the model and its queryset refuse it (audit.models).
"""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION audit_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'certportal audit log: % on % refused (append-only)', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'integrity_constraint_violation';
END
$$;
CREATE TRIGGER audit_auditentry_append_only BEFORE UPDATE OR DELETE ON audit_auditentry
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_chainlink_no_update BEFORE UPDATE ON audit_chainlink
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_chainlink_keep_audit_links BEFORE DELETE ON audit_chainlink
    FOR EACH ROW WHEN (OLD.chain = 'audit') EXECUTE FUNCTION audit_refuse_change();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS audit_chainlink_keep_audit_links ON audit_chainlink;
DROP TRIGGER IF EXISTS audit_chainlink_no_update ON audit_chainlink;
DROP TRIGGER IF EXISTS audit_auditentry_append_only ON audit_auditentry;
DROP FUNCTION IF EXISTS audit_refuse_change();
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD, params=None)  # no client-side interpolation: the SQL has %


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD, params=None)


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]

    operations = [migrations.RunPython(forward, backward)]
