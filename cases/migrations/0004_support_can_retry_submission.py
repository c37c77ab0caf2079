"""Support staff may retry sending a case to MDI (it is idempotent)."""

from django.db import migrations

from core.permissions import group_grant_permissions


def grant(apps, schema_editor):
    group_grant_permissions(apps, group="Support staff", app_label="cases", codenames=["retry_case_submission"])


class Migration(migrations.Migration):
    dependencies = [("cases", "0003_case_submission"), ("accounts", "0002_staff_groups")]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
