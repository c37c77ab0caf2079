"""Support staff read the raw webhook log and may reprocess or resolve events."""

from django.db import migrations

from core.permissions import group_grant_permissions


def grant(apps, schema_editor):
    group_grant_permissions(
        apps,
        group="Support staff",
        app_label="webhooks",
        codenames=["view_webhookevent", "view_webhookdelivery", "reprocess_webhookevent"],
    )


class Migration(migrations.Migration):
    dependencies = [("webhooks", "0001_initial"), ("accounts", "0002_staff_groups")]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
