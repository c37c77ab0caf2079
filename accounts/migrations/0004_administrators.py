"""The Administrators role: every permission of the clinic's own apps, except writing to the
access log (nobody may add, change or delete it; the admin refuses it even to superusers).

The MDI sandbox is left out: its one permission is the stand-in clinician's, a separate role.
A model added later needs its own grant; tests/core/test_roles.py fails until it has one.
"""

from django.db import migrations

from core.permissions import group_grant_all_permissions

ADMINISTRATORS = "Administrators"
PROJECT_APPS = ["accounts", "core", "patients", "intake", "cases", "webhooks", "payments"]
# django-otp's devices: administrators see and remove a lost one (the owner then sets up a
# new one at next sign-in); nobody adds or edits another person's second factor.
OTP_APPS = ["otp_totp"]
# The audit tables are append-only for everyone (see core.models).
NEVER_GRANTED = {
    f"core.{verb}_{model}"
    for verb in ("add", "change", "delete")
    for model in ("accesslog", "securityevent", "purgelog")
} | {"otp_totp.add_totpdevice", "otp_totp.change_totpdevice"}


def grant(apps, schema_editor):
    group_grant_all_permissions(
        apps,
        group=ADMINISTRATORS,
        app_labels=PROJECT_APPS + OTP_APPS,
        except_codenames=NEVER_GRANTED,
    )


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_email_verification_and_two_factor"),
        ("core", "0004_support_staff_permissions"),
        ("patients", "0006_support_corrects_eligibility"),
        ("intake", "0006_response_answer_retention"),
        ("cases", "0012_private_files_encrypted_at_rest"),
        ("webhooks", "0005_webhookevent_body_pruned_at"),
        ("payments", "0003_support_staff_permissions"),
        ("otp_totp", "0003_add_timestamps"),
    ]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
