"""Checks behind /readyz: each returns None when healthy, else a short reason (for the log)."""

from django.conf import settings
from django.db import connection


def health_check_database() -> str | None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any failure means unhealthy; the reason is logged, not leaked
        return type(exc).__name__
    return None


def health_check_broker() -> str | None:
    if not settings.REDIS_URL:
        return None
    import redis

    try:
        redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=2).ping()
    except Exception as exc:
        return type(exc).__name__
    return None


_migrations_applied = False


def health_check_migrations() -> str | None:
    """Every migration on disk is applied: a process started before `migrate` finished
    would serve code whose tables are not there yet. Once true it stays true for the
    process (migrations are not unapplied under a running release), so it is read once."""
    global _migrations_applied
    if _migrations_applied:
        return None
    from django.db.migrations.executor import MigrationExecutor

    try:
        executor = MigrationExecutor(connection)
        pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except Exception as exc:
        return type(exc).__name__
    if pending:
        return f"{len(pending)} migrations not applied"
    _migrations_applied = True
    return None
