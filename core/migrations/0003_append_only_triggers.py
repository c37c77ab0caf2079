"""On PostgreSQL the audit tables refuse UPDATE and DELETE in SQL, whoever connects: the
ORM's refusals (core.models.AppendOnlyModel) stop our code, this stops a shell or a script.
TRUNCATE is left alone: the test runner empties tables with it, and it needs table ownership.
Other databases (SQLite, locally) rely on the ORM's refusals only."""

from django.db import migrations

TABLES = ["core_accesslog", "core_securityevent", "core_purgelog"]

CREATE_FUNCTION = """
CREATE OR REPLACE FUNCTION core_refuse_audit_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% rows are append-only (% refused)', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
"""


def install(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(CREATE_FUNCTION, params=None)  # its "%" are RAISE placeholders
    for table in TABLES:
        schema_editor.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION core_refuse_audit_change();"
        )


def remove(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table};")
    schema_editor.execute("DROP FUNCTION IF EXISTS core_refuse_audit_change();")


class Migration(migrations.Migration):
    dependencies = [("core", "0002_audit_records")]

    operations = [migrations.RunPython(install, remove)]
