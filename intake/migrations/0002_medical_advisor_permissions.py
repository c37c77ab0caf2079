"""Medical advisors manage questionnaires and nothing else: no responses (PHI), no patients."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

ADVISOR_MODELS = ["questionnaire", "questionnaireversion", "item", "answeroption", "enablewhen"]


def grant(apps, schema_editor):
    # Permissions are normally created after all migrations; create them now so they can be granted.
    app_config = apps.get_app_config("intake")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    advisors, _ = Group.objects.get_or_create(name="Medical advisors")
    advisors.permissions.add(
        *Permission.objects.filter(content_type__app_label="intake", content_type__model__in=ADVISOR_MODELS)
    )


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    advisors = Group.objects.filter(name="Medical advisors").first()
    if advisors:
        advisors.permissions.remove(*Permission.objects.filter(content_type__app_label="intake"))


class Migration(migrations.Migration):
    dependencies = [("intake", "0001_initial"), ("accounts", "0002_staff_groups")]

    operations = [migrations.RunPython(grant, revoke)]
