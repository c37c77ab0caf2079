"""Support staff read payments and may refund a charge (the refund action is idempotent)."""

from django.db import migrations

from core.permissions import group_grant_permissions


def grant(apps, schema_editor):
    group_grant_permissions(
        apps,
        group="Support staff",
        app_label="payments",
        codenames=["view_payment", "view_paymenthistory", "refund_payment"],
    )


class Migration(migrations.Migration):
    dependencies = [("payments", "0002_payments_and_sandbox_processor"), ("accounts", "0002_staff_groups")]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
