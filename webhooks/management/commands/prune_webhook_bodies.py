"""Clear the bodies of finished webhook events past WEBHOOK_BODY_RETENTION_DAYS (also daily
from Celery beat)."""

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from webhooks.services import webhook_bodies_prunable, webhook_bodies_prune


class Command(BaseCommand):
    help = "Clear the stored bodies of processed webhook events older than the retention period."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="Count, change nothing.")

    def handle(self, *args: Any, dry_run: bool = False, **options: Any) -> None:
        if dry_run:
            cutoff, events = webhook_bodies_prunable()
            self.stdout.write(
                f"Would prune {events.count()} event bodies received before {cutoff}."
            )
            return
        self.stdout.write(f"Pruned {webhook_bodies_prune()} event bodies.")
