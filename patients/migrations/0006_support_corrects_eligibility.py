"""Support staff may correct a patient's state of residence and date of birth (the patient
cannot once a visit is submitted); each correction is access-logged by the admin."""

from django.db import migrations

from core.permissions import group_grant_permissions


def grant(apps, schema_editor):
    group_grant_permissions(
        apps, group="Support staff", app_label="patients", codenames=["correct_eligibility"]
    )


class Migration(migrations.Migration):

    dependencies = [
        ('patients', '0005_private_files_encrypted_at_rest'),
        ('accounts', '0002_staff_groups'),
    ]

    operations = [
        migrations.AlterModelOptions(
            name='patient',
            options={'permissions': [('correct_eligibility', "Can correct a patient's state of residence and birth date")]},
        ),
        migrations.RunPython(grant, migrations.RunPython.noop),
    ]
