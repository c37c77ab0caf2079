"""Reading a patient's intake answers is its own permission, granted to no role by default.

Support staff may view responses (that one exists, its status and dates) without it; the
answers and the question that stopped an intake show only with `view_clinical_answers`.
"""

from django.db import migrations

from core.permissions import group_grant_permissions


def grant(apps, schema_editor):
    group_grant_permissions(
        apps, group="Support staff", app_label="intake", codenames=["view_questionnaireresponse"]
    )


class Migration(migrations.Migration):

    dependencies = [
        ('intake', '0004_private_files_encrypted_at_rest'),
        ('accounts', '0002_staff_groups'),
    ]

    operations = [
        migrations.AlterModelOptions(
            name='questionnaireresponse',
            options={'ordering': ['-created_at'], 'permissions': [('view_clinical_answers', "Can view patients' clinical answers")]},
        ),
        migrations.RunPython(grant, migrations.RunPython.noop),
    ]
