"""Support staff read cases, prescriptions, timelines and notifications; they change none."""

from django.db import migrations

from core.permissions import group_grant_permissions


def grant(apps, schema_editor):
    group_grant_permissions(
        apps,
        group="Support staff",
        app_label="cases",
        codenames=["view_case", "view_prescription", "view_casetimelineentry", "view_notification"],
    )


class Migration(migrations.Migration):
    dependencies = [("cases", "0001_initial"), ("accounts", "0002_staff_groups")]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
