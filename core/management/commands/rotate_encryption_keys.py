"""Re-encrypt every protected column with the first key in FIELD_ENCRYPTION_KEYS.

Run after putting a new key first; once it reports every row done, the old key can go.
Safe to run again. Reading decrypts with any configured key and `update()` encrypts with the
first, so each row is rewritten under the newest key without running model save() hooks
(which may refuse writes, e.g. to a published questionnaire).
"""

from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import transaction

from core.fields import encrypted_fields


class Command(BaseCommand):
    help = "Re-encrypt all encrypted model fields with the newest key."

    def handle(self, *args: object, **options: object) -> None:
        total = 0
        for model in apps.get_models():
            names = [f.attname for f in encrypted_fields(model)]
            if not names:
                continue
            manager = model._base_manager
            rewritten = 0
            for row in manager.only("pk", *names).iterator(chunk_size=500):
                with transaction.atomic():
                    manager.filter(pk=row.pk).update(**{name: getattr(row, name) for name in names})
                rewritten += 1
            total += rewritten
            self.stdout.write(f"{model._meta.label}: {rewritten} rows re-encrypted")
        self.stdout.write(
            self.style.SUCCESS(f"Done: {total} rows re-encrypted with the newest key")
        )
