"""Purge the local answers of visits closed longer than CLOSED_VISIT_ANSWER_RETENTION_DAYS
(also daily from Celery beat)."""

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from cases.services.retention import closed_visit_answers_purge, closed_visits_with_answers


class Command(BaseCommand):
    help = "Remove the stored intake answers and files of visits closed past the retention."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="Count, change nothing.")

    def handle(self, *args: Any, dry_run: bool = False, **options: Any) -> None:
        if dry_run:
            count = closed_visits_with_answers().count()
            self.stdout.write(f"Would purge the answers of {count} closed visits.")
            return
        self.stdout.write(f"Purged the answers of {closed_visit_answers_purge()} closed visits.")
