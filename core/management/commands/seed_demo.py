"""Local demo data: staff accounts with fresh passwords, then each app's own demo data.

Each app may define `demo.seed(stdout)` (for example intake/demo.py loads the demo
questionnaire); this command calls them in INSTALLED_APPS order. Refuses to run with DEBUG off,
so it can never reset passwords on a real deployment.
"""

import importlib
import secrets

from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError

from core.roles import MEDICAL_ADVISORS, SUPPORT_STAFF

DEMO_STAFF = [
    ("admin@example.com", None, True),
    ("advisor@example.com", MEDICAL_ADVISORS, False),
    ("support@example.com", SUPPORT_STAFF, False),
]


class Command(BaseCommand):
    help = "Create demo staff accounts (passwords printed) and load each app's demo data."

    def handle(self, *args: object, **options: object) -> None:
        if not settings.DEBUG:
            raise CommandError("seed_demo only runs with DEBUG on (local machines).")
        User = get_user_model()
        self.stdout.write("Demo accounts (passwords are new on every run):")
        for email, group_name, is_superuser in DEMO_STAFF:
            password = secrets.token_urlsafe(12)
            user, _ = User.objects.get_or_create(email=email, defaults={"is_staff": True})
            user.is_staff = True
            user.is_superuser = is_superuser
            user.set_password(password)
            user.save()
            if group_name:
                user.groups.add(Group.objects.get_or_create(name=group_name)[0])
            role = group_name or "superuser"
            self.stdout.write(f"  {role:<18} {email:<24} {password}")
        self.stdout.write(
            "Staff then need a two-step code: scan the key shown at first sign-in with an "
            "authenticator app, or run `python manage.py demo_code EMAIL` for the current one."
        )
        for app_config in apps.get_app_configs():
            try:
                demo = importlib.import_module(f"{app_config.name}.demo")
            except ModuleNotFoundError as exc:
                if exc.name != f"{app_config.name}.demo":
                    raise
                continue
            demo.seed(stdout=self.stdout)
