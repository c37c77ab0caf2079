"""Re-encrypt every protected column and every private file with the first key in
FIELD_ENCRYPTION_KEYS.

Run after putting a new key first; once it reports every row and file done, the old key can
go. Safe to run again, and alongside the running app: each row is re-read and rewritten under
its row lock, so a concurrent save is never overwritten with an older value. Reading decrypts
with any configured key and `update()` encrypts with the first, so each row is rewritten under
the newest key without running model save() hooks (which may refuse writes, e.g. to a
published questionnaire).

Files are written again under a new name (core.uploads.upload_rotate), the row is pointed at
it under the same lock, and the old file is deleted only once that commit has happened; if
the transaction fails, the new file is deleted instead, so a row never points at a missing
file. Files stored before encryption at rest existed are encrypted the same way.
"""

from django.apps import apps
from django.core.management.base import BaseCommand, CommandParser
from django.db import models, transaction

from core.fields import encrypted_fields, private_file_fields
from core.uploads import upload_delete, upload_rotate


class Command(BaseCommand):
    help = "Re-encrypt all encrypted model fields and private files with the newest key."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--model",
            action="append",
            default=[],
            metavar="APP.MODEL",
            help="Only this model (repeatable), e.g. to finish one table after an interruption.",
        )

    def handle(self, *args: object, **options: object) -> None:
        rows = files = 0
        chosen = [apps.get_model(label) for label in options["model"]]
        for model in chosen or apps.get_models():
            columns = [f.attname for f in encrypted_fields(model)]
            file_columns = [f.attname for f in private_file_fields(model)]
            if not columns and not file_columns:
                continue
            model_rows, model_files = self._rotate_model(model, columns, file_columns)
            rows += model_rows
            files += model_files
            self.stdout.write(
                f"{model._meta.label}: {model_rows} rows and {model_files} files re-encrypted"
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"Done: {rows} rows and {files} files re-encrypted with the newest key"
            )
        )

    def _rotate_model(
        self, model: type[models.Model], columns: list[str], file_columns: list[str]
    ) -> tuple[int, int]:
        manager = model._base_manager
        rows = files = 0
        for pk in manager.values_list("pk", flat=True).iterator(chunk_size=500):
            written: list[str] = []
            try:
                # Read and rewrite under the row's lock: a value read earlier and written
                # back later would undo a save made in between.
                with transaction.atomic():
                    row = (
                        manager.select_for_update()
                        .only("pk", *columns, *file_columns)
                        .filter(pk=pk)
                        .first()
                    )
                    if row is None:
                        continue  # deleted meanwhile
                    changes = {name: getattr(row, name) for name in columns}
                    replaced: list[str] = []
                    for name in file_columns:
                        old = getattr(row, name)
                        if not old:
                            continue
                        changes[name] = upload_rotate(name=old)
                        written.append(changes[name])
                        replaced.append(old)
                    manager.filter(pk=pk).update(**changes)
                    transaction.on_commit(lambda old=replaced: upload_delete(names=old))
            except BaseException:
                upload_delete(names=written)  # the row still names the old files
                raise
            rows += 1
            files += len(written)
        return rows, files
