"""Checks behind /healthz: each returns None when healthy, else a short reason."""

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
