"""The sandbox's columns become encrypted in 0003, and plaintext rows could not be read back.
The sandbox only ever holds demo data, so it starts afresh (its own migration, so PostgreSQL
never alters a table with deletions pending in the same transaction)."""

from django.db import migrations


def clear(apps, schema_editor):
    for name in ("SandboxWebhook", "SandboxMessage", "SandboxCase", "SandboxPatient"):
        apps.get_model("mdi_sandbox", name).objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("mdi_sandbox", "0001_initial")]

    operations = [migrations.RunPython(clear, migrations.RunPython.noop)]
