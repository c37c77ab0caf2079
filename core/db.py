"""Surviving a database connection the server closed, without a round trip per request."""

from collections.abc import Callable
from typing import TypeVar

from django.db import InterfaceError, OperationalError, connection

T = TypeVar("T")


def on_a_live_connection(operation: Callable[[], T]) -> T:
    """Run `operation` and, if the server had closed our persistent connection (a restart, a
    failover, an idle timeout), reconnect and run it once more.

    For hot paths whose work is safe to repeat (the webhook receipt is one idempotent
    statement). They skip Django's per-request health check (CONN_HEALTH_CHECKS: a SELECT 1
    before the first query, measured at a third of the webhook endpoint's throughput) and pay
    for a dead connection only when there is one. Any other failure, and a second one, raises.
    """
    # Django (4.1+) sets this after its per-request check; django-stubs does not declare it.
    connection.health_check_done = True  # type: ignore[attr-defined]
    try:
        return operation()
    except (OperationalError, InterfaceError):
        if connection.in_atomic_block:
            raise  # the caller's transaction is lost either way; only it can start over
        connection.close()
        return operation()
