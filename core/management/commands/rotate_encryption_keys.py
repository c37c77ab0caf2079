"""Re-encrypt every protected column with the first key in FIELD_ENCRYPTION_KEYS.

Run after putting a new key first; once it reports every row done, the old key can go.
Safe to run again, and alongside the running app: each row is re-read and rewritten under its
row lock, so a concurrent save is never overwritten with an older value. Reading decrypts with
any configured key and `update()` encrypts with the first, so each row is rewritten under the
newest key without running model save() hooks (which may refuse writes, e.g. to a published
questionnaire).
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
            for pk in manager.values_list("pk", flat=True).iterator(chunk_size=500):
                # Read and rewrite under the row's lock: a value read earlier and written
                # back later would undo a save made in between.
                with transaction.atomic():
                    row = manager.select_for_update().only("pk", *names).filter(pk=pk).first()
                    if row is None:
                        continue  # deleted meanwhile
                    manager.filter(pk=pk).update(**{name: getattr(row, name) for name in names})
                rewritten += 1
            total += rewritten
            self.stdout.write(f"{model._meta.label}: {rewritten} rows re-encrypted")
        self.stdout.write(
            self.style.SUCCESS(f"Done: {total} rows re-encrypted with the newest key")
        )
