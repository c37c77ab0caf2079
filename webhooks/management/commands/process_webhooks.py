"""A webhook worker: claim received events from the event table and process them.

Run as many as the load needs (README: Production); they never take the same event. The
acknowledging web process only stores the event, so neither Redis nor a Celery publish sits
between MDI's delivery and its processing.
"""

import logging
import signal
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import DatabaseError, InterfaceError, close_old_connections, connection

from webhooks.services import webhook_events_work

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Process received webhook events until stopped (SIGTERM finishes the current event)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--poll",
            type=float,
            default=0.1,
            help="Seconds to wait when nothing is due (default 0.1: well inside the 1 s target "
            "from an event's arrival to its status).",
        )
        parser.add_argument("--batch", type=int, default=20, help="Events claimed at a time.")
        parser.add_argument(
            "--once", action="store_true", help="Stop when nothing is due (cron, tests)."
        )

    def handle(self, *args: Any, poll: float, batch: int, once: bool, **options: Any) -> None:
        stopping = False

        def stop(signum: int, frame: object) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        processed = 0
        while not stopping:
            close_old_connections()  # CONN_MAX_AGE and CONN_HEALTH_CHECKS, as between requests
            try:
                claimed = webhook_events_work(limit=batch)
            except (DatabaseError, InterfaceError) as exc:
                if once:
                    raise
                # The database went away (restart, failover): drop the connection, wait, retry.
                # A claim made before the failure simply lapses.
                logger.warning("webhook worker: database unavailable (%s)", type(exc).__name__)
                connection.close()
                time.sleep(1)
                continue
            processed += claimed
            if claimed == 0:
                if once:
                    break
                time.sleep(poll)
        self.stdout.write(f"processed {processed} webhook events")
