"""Demo data for `make run` (seed_demo calls this only where the sandbox is installed): a
sandbox clinician who may drive the console, and where the partner credentials live."""

import secrets
from typing import TextIO

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission

from core.roles import SANDBOX_CLINICIANS

DEMO_CLINICIAN = "clinician@example.com"


def seed(*, stdout: TextIO) -> None:
    group, _ = Group.objects.get_or_create(name=SANDBOX_CLINICIANS)
    group.permissions.add(
        Permission.objects.get(content_type__app_label="mdi_sandbox", codename="act_as_clinician")
    )
    password = secrets.token_urlsafe(12)
    user, _ = get_user_model().objects.get_or_create(
        email=DEMO_CLINICIAN, defaults={"is_staff": True}
    )
    user.is_staff = True
    user.set_password(password)
    user.save()
    user.groups.add(group)
    stdout.write(f"  {SANDBOX_CLINICIANS:<18} {DEMO_CLINICIAN:<24} {password}")
    stdout.write(
        "MDI sandbox console: /mdi-sandbox/console/ (sign in as the sandbox clinician above). "
        f"Partner API client id "
        f"{settings.MDI_CLIENT_ID}, secret {settings.MDI_CLIENT_SECRET}; unless set in the "
        f"environment, these live in {settings.MDI_SANDBOX_CREDENTIALS_FILE}."
    )
