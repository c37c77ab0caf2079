"""Support staff may read who a patient is (identity, uploaded IDs), never change it."""

from django.db import migrations

from core.permissions import group_grant_permissions


def grant(apps, schema_editor):
    group_grant_permissions(
        apps,
        group="Support staff",
        app_label="patients",
        codenames=["view_patient", "view_identitydocument", "view_statewaitlistentry"],
    )


class Migration(migrations.Migration):
    dependencies = [("patients", "0002_patient_date_of_birth_and_more"), ("accounts", "0002_staff_groups")]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
