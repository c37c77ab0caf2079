"""The clinician's decline reason is a health fact: encrypt it, existing rows included."""

from django.db import migrations

import core.fields
from core import crypto


def encrypt_existing(apps, schema_editor):
    Case = apps.get_model("cases", "Case")
    for pk, reason in Case.objects.values_list("pk", "decline_reason").iterator():
        Case.objects.filter(pk=pk).update(decline_reason=crypto.encrypt((reason or "").encode()))


class Migration(migrations.Migration):
    dependencies = [("cases", "0010_notification_delivery")]

    operations = [
        migrations.RunPython(encrypt_existing, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="case",
            name="decline_reason",
            field=core.fields.EncryptedTextField(blank=True, default=""),
        ),
    ]
