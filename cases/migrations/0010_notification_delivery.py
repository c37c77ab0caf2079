"""Notifications are sent: channel, delivery status, attempts and the last error; support
staff may retry one (it never sends twice).

Rows made before this migration were never sent and stay pending: they are not enqueued here
(announcing old news at deploy time), but support's retry sends one if wanted.
"""

import django_fsm
from django.db import migrations, models

from core.permissions import group_grant_permissions


def grant(apps, schema_editor):
    group_grant_permissions(apps, group="Support staff", app_label="cases", codenames=["retry_notification"])


class Migration(migrations.Migration):

    dependencies = [
        ('cases', '0009_case_messages_and_requests'),
        ('accounts', '0002_staff_groups'),
    ]

    operations = [
        migrations.AlterModelOptions(
            name='notification',
            options={'ordering': ['created_at', 'pk'], 'permissions': [('retry_notification', 'Can retry sending a notification')]},
        ),
        migrations.AddField(
            model_name='notification',
            name='attempts',
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.AddField(
            model_name='notification',
            name='channel',
            field=models.CharField(choices=[('email', 'Email'), ('sms', 'SMS')], default='email', max_length=8),
        ),
        migrations.AddField(
            model_name='notification',
            name='last_error',
            field=models.TextField(blank=True),
        ),
        migrations.AddField(
            model_name='notification',
            name='status',
            field=django_fsm.FSMField(choices=[('pending', 'Waiting to be sent'), ('sent', 'Sent'), ('failed', 'Sending failed (support can retry)')], default='pending', max_length=50, protected=True),
        ),
        migrations.AlterField(
            model_name='notification',
            name='kind',
            field=models.CharField(choices=[('submitted', 'Visit submitted'), ('more_info_requested', 'More information requested'), ('message', 'New message from the clinician'), ('approved', 'Approved'), ('prescription_sent', 'Prescription sent'), ('shipped', 'Shipped'), ('delivered', 'Delivered'), ('declined', 'Declined'), ('cancelled', 'Cancelled'), ('failed', 'Pharmacy could not fill')], max_length=32),
        ),
        migrations.RunPython(grant, migrations.RunPython.noop),
    ]
