"""Support staff read the access log, security events and purge log (read-only in admin)."""

from django.db import migrations

from core.permissions import group_grant_permissions


def grant(apps, schema_editor):
    group_grant_permissions(
        apps,
        group="Support staff",
        app_label="core",
        codenames=["view_accesslog", "view_securityevent", "view_purgelog"],
    )


class Migration(migrations.Migration):
    dependencies = [("core", "0003_append_only_triggers"), ("accounts", "0002_staff_groups")]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
