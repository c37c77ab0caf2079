"""Which questions were shown and which answer stopped an intake are health facts: encrypt
them. Existing rows are encrypted in place between two schema steps (plain text first, so the
token fits; then the encrypted field, which reads that token)."""

import json

from django.db import migrations, models

import core.fields
from core import crypto


def encrypt_existing(apps, schema_editor):
    Response = apps.get_model("intake", "QuestionnaireResponse")
    for pk, order, stopped in Response.objects.values_list(
        "pk", "answer_order", "stopped_by_link_id"
    ).iterator():
        order_json = json.dumps(json.loads(order) if isinstance(order, str) else order or [],
                                sort_keys=True)
        Response.objects.filter(pk=pk).update(
            answer_order=crypto.encrypt(order_json.encode()),
            stopped_by_link_id=crypto.encrypt((stopped or "").encode()),
        )


class Migration(migrations.Migration):
    dependencies = [("intake", "0002_medical_advisor_permissions")]

    operations = [
        migrations.AlterField(
            model_name="questionnaireresponse",
            name="answer_order",
            field=models.TextField(default="[]"),
        ),
        migrations.AlterField(
            model_name="questionnaireresponse",
            name="stopped_by_link_id",
            field=models.TextField(blank=True, default=""),
        ),
        migrations.RunPython(encrypt_existing, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="questionnaireresponse",
            name="answer_order",
            field=core.fields.EncryptedJSONField(default=list),
        ),
        migrations.AlterField(
            model_name="questionnaireresponse",
            name="stopped_by_link_id",
            field=core.fields.EncryptedTextField(blank=True, default=""),
        ),
    ]
