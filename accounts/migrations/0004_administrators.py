"""The Administrators role: every permission of the clinic's own apps, except writing to the
access log (nobody may add, change or delete it; the admin refuses it even to superusers).

The MDI sandbox is left out: its one permission is the stand-in clinician's, a separate role.
A model added later needs its own grant; tests/core/test_roles.py fails until it has one.
"""

from django.db import migrations

from core.permissions import group_grant_all_permissions

ADMINISTRATORS = "Administrators"
PROJECT_APPS = ["accounts", "core", "patients", "intake", "cases", "webhooks", "payments"]
NEVER_GRANTED = {"core.add_accesslog", "core.change_accesslog", "core.delete_accesslog"}


def grant(apps, schema_editor):
    group_grant_all_permissions(
        apps, group=ADMINISTRATORS, app_labels=PROJECT_APPS, except_codenames=NEVER_GRANTED
    )


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_email_verification_and_two_factor"),
        ("core", "0001_initial"),
        ("patients", "0006_support_corrects_eligibility"),
        ("intake", "0005_clinical_answers_permission"),
        ("cases", "0012_private_files_encrypted_at_rest"),
        ("webhooks", "0004_delivery_outcome_too_large"),
        ("payments", "0003_support_staff_permissions"),
    ]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
