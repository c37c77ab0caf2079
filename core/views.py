import logging

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from core.health import health_check_broker, health_check_database

logger = logging.getLogger(__name__)


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "core/home.html")


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """For load balancers: 200 only when the database (and the broker, if any) answer."""
    database = health_check_database()
    broker = health_check_broker()
    healthy = database is None and broker is None
    # The endpoint is public: exception names tell an attacker what runs behind it. Only the
    # log, which operations read, gets them.
    for component, reason in (("database", database), ("broker", broker)):
        if reason is not None:
            logger.warning("healthz: %s unavailable (%s)", component, reason)
    body = {
        "status": "ok" if healthy else "unavailable",
        "database": "ok" if database is None else "unavailable",
        "broker": ("unavailable" if broker else ("ok" if settings.REDIS_URL else "not configured")),
    }
    return JsonResponse(body, status=200 if healthy else 503)


def ratelimited(request: HttpRequest, exception: Exception) -> HttpResponse:
    """settings.RATELIMIT_VIEW: a throttled request gets a plain 429 saying what to do."""
    return render(request, "core/ratelimited.html", status=429)
