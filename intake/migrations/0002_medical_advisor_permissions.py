"""Medical advisors manage questionnaires and nothing else: no responses (PHI), no patients."""

from django.db import migrations

from core.permissions import group_grant_permissions

ADVISOR_MODELS = ["questionnaire", "questionnaireversion", "item", "answeroption", "enablewhen"]


def grant(apps, schema_editor):
    codenames = [f"{action}_{model}" for model in ADVISOR_MODELS for action in ("add", "change", "delete", "view")]
    group_grant_permissions(apps, group="Medical advisors", app_label="intake", codenames=codenames)


class Migration(migrations.Migration):
    dependencies = [("intake", "0001_initial"), ("accounts", "0002_staff_groups")]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
